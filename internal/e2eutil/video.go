package e2eutil

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// VideoRate is how many pictures a decoder gets out of a file's first video stream, and over
// which span of presentation time.
type VideoRate struct {
	Frames        int           // decoded pictures
	Span          time.Duration // first to last picture's timestamp
	Width, Height int           // size of the last picture
}

// FPS is the decoded frame rate: frames per second of presentation time.
func (r VideoRate) FPS() float64 {
	if r.Frames < 2 || r.Span <= 0 {
		return 0
	}
	return float64(r.Frames-1) / r.Span.Seconds()
}

// DecodeRate decodes path's first video stream (ffprobe) and counts its pictures.
func DecodeRate(t testing.TB, path string) VideoRate {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
		"frame=best_effort_timestamp_time,width,height", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	r, err := ParseFrameList(string(out))
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	return r
}

// ParseFrameList reads ffprobe's csv lines "timestamp,width,height" (one per decoded
// picture; ffprobe prints the timestamp first whatever the order asked).
func ParseFrameList(out string) (VideoRate, error) {
	var r VideoRate
	first, last := math.Inf(1), math.Inf(-1)
	for _, line := range strings.Fields(out) {
		f := strings.Split(line, ",")
		if len(f) < 3 {
			return VideoRate{}, fmt.Errorf("frame line %q", line)
		}
		w, err1 := strconv.Atoi(f[1])
		h, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			return VideoRate{}, fmt.Errorf("frame line %q", line)
		}
		r.Frames++
		r.Width, r.Height = w, h
		if ts, err := strconv.ParseFloat(f[0], 64); err == nil {
			first, last = math.Min(first, ts), math.Max(last, ts)
		}
	}
	if r.Frames > 1 && last > first {
		r.Span = time.Duration((last - first) * float64(time.Second))
	}
	return r, nil
}

// Rect is a part of a picture in fractions of its width and height.
type Rect struct{ Left, Top, Width, Height float64 }

// Whole is the whole picture.
var Whole = Rect{0, 0, 1, 1}

// Pictures are grayscale pictures of W×H decoded from a file at a fixed interval.
type Pictures struct {
	W, H   int
	Every  time.Duration
	Frames [][]byte
}

// SamplePictures decodes path's video at one picture per every (ffmpeg fps filter), scaled
// to w×h grayscale.
func SamplePictures(t testing.TB, path string, every time.Duration, w, h int) Pictures {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	filter := fmt.Sprintf("fps=1/%g,scale=%d:%d", every.Seconds(), w, h)
	// -reinit_filter 0: a file whose picture size changes (a recording that followed a
	// simulcast publisher to a smaller layer) would otherwise rebuild the filter graph there,
	// and the rebuilt fps filter repeats the picture before the change in the next slot: a
	// frozen interval that is not in the file.
	raw, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
		"-reinit_filter", "0", "-i", path, "-an", "-vf", filter, "-pix_fmt", "gray", "-f", "rawvideo", "-").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) { // Output keeps ffmpeg's stderr: why it could not decode
			t.Fatalf("decode %s: %v: %s", path, err, ee.Stderr)
		}
		t.Fatalf("decode %s: %v", path, err)
	}
	p := Pictures{W: w, H: h, Every: every}
	for size := w * h; len(raw) >= size; raw = raw[size:] {
		p.Frames = append(p.Frames, raw[:size])
	}
	return p
}

// Difference is the mean absolute difference of pictures i and j inside r (0–255).
func (p Pictures) Difference(i, j int, r Rect) float64 {
	x0, x1 := int(r.Left*float64(p.W)), int((r.Left+r.Width)*float64(p.W))
	y0, y1 := int(r.Top*float64(p.H)), int((r.Top+r.Height)*float64(p.H))
	sum, n := 0, 0
	for y := max(y0, 0); y < min(y1, p.H); y++ {
		for x := max(x0, 0); x < min(x1, p.W); x++ {
			d := int(p.Frames[i][y*p.W+x]) - int(p.Frames[j][y*p.W+x])
			sum += max(d, -d)
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(sum) / float64(n)
}

// Still counts the intervals (pairs of consecutive pictures) in which r did not change by
// more than threshold: a picture frozen for that long.
func (p Pictures) Still(r Rect, threshold float64) int {
	_, still := p.StillAfterStart(r, threshold, 0)
	return still
}

// StillAfterStart is Still for a region that may take a while to show its first picture:
// the intervals before r first changed, up to maxStart of them, are not counted but returned
// as startup. A region that never changes within maxStart counts every interval as still.
func (p Pictures) StillAfterStart(r Rect, threshold float64, maxStart int) (startup, still int) {
	started := false
	for i := 1; i < len(p.Frames); i++ {
		changed := p.Difference(i-1, i, r) > threshold
		switch {
		case started && !changed:
			still++
		case !started && changed:
			started = true
		case !started && startup < maxStart:
			startup++
		case !started:
			still++
		}
	}
	return startup, still
}
