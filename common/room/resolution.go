package room

import (
	"strconv"
	"strings"
)

// maxDimension bounds widths and heights anywhere in the model.
const maxDimension = 8192

// namedResolutions are the resolution names OWT understands in mediaOut and subscriptions.
var namedResolutions = map[string]Resolution{
	"sqcif":   {128, 96},
	"qcif":    {176, 144},
	"cif":     {352, 288},
	"4cif":    {704, 576},
	"sif":     {352, 240},
	"qqvga":   {160, 120},
	"qvga":    {320, 240},
	"hvga":    {480, 320},
	"vga":     {640, 480},
	"svga":    {800, 600},
	"xga":     {1024, 768},
	"hd720p":  {1280, 720},
	"hd1080p": {1920, 1080},
	"uhd_4k":  {3840, 2160},
}

// ResolveResolution turns a mediaOut resolution spec into a size: a name ("vga", "hd720p", …),
// "r<W>x<H>" (e.g. "r640x360"), or a scale "x<N>/<M>" of base (e.g. "x3/4" of 1280x720 is
// 960x540, rounded down). ok is false for an unknown spec or an empty result.
func ResolveResolution(spec string, base Resolution) (Resolution, bool) {
	if r, ok := namedResolutions[spec]; ok {
		return r, true
	}
	if rest, ok := strings.CutPrefix(spec, "r"); ok {
		w, h, ok := strings.Cut(rest, "x")
		if !ok {
			return Resolution{}, false
		}
		return sized(dimension(w), dimension(h))
	}
	if rest, ok := strings.CutPrefix(spec, "x"); ok {
		n, m, ok := strings.Cut(rest, "/")
		num, den := dimension(n), dimension(m)
		if !ok || num == 0 || den == 0 || num > den {
			return Resolution{}, false
		}
		return sized(base.Width*num/den, base.Height*num/den)
	}
	return Resolution{}, false
}

// dimension parses a positive decimal number up to maxDimension; 0 means invalid.
func dimension(s string) int {
	if s == "" || len(s) > 5 || strings.TrimLeft(s, "0123456789") != "" {
		return 0
	}
	n, _ := strconv.Atoi(s)
	if n > maxDimension {
		return 0
	}
	return n
}

// sized returns the resolution if both sides are positive.
func sized(w, h int) (Resolution, bool) {
	if w <= 0 || h <= 0 {
		return Resolution{}, false
	}
	return Resolution{Width: w, Height: h}, true
}

// validResolutionSpec reports whether spec is understood by ResolveResolution.
func validResolutionSpec(spec string) bool {
	_, ok := ResolveResolution(spec, Resolution{Width: 1920, Height: 1080})
	return ok
}
