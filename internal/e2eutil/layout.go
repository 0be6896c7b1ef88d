package e2eutil

import (
	"fmt"
	"strconv"
	"strings"
)

// LayoutEntry is one region of a mixed stream's layout as OWT sends it (stream info
// `layout`, `stream update` field `video.layout`).
type LayoutEntry struct {
	Stream string `json:"stream"`
	Region struct {
		ID   string `json:"id"`
		Area struct {
			Left, Top, Width, Height string
		} `json:"area"`
	} `json:"region"`
}

// Rect returns the region's area in fractions of the picture.
func (e LayoutEntry) Rect() (Rect, error) {
	a := e.Region.Area
	var r Rect
	for _, f := range []struct {
		s   string
		dst *float64
	}{{a.Left, &r.Left}, {a.Top, &r.Top}, {a.Width, &r.Width}, {a.Height, &r.Height}} {
		v, err := ParseFraction(f.s)
		if err != nil {
			return Rect{}, err
		}
		*f.dst = v
	}
	return r, nil
}

// StreamsIn returns the streams placed in a layout.
func StreamsIn(l []LayoutEntry) []string {
	var out []string
	for _, e := range l {
		if e.Stream != "" {
			out = append(out, e.Stream)
		}
	}
	return out
}

// ParseFraction parses an OWT area value ("1/3", "0", "1").
func ParseFraction(s string) (float64, error) {
	num, den, found := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(num, 64)
	d := 1.0
	if found && err == nil {
		d, err = strconv.ParseFloat(den, 64)
	}
	if err != nil || d == 0 {
		return 0, fmt.Errorf("bad fraction %q", s)
	}
	return n / d, nil
}
