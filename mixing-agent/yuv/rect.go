package yuv

// Rect is a pixel rectangle: X, Y is its top-left corner, W×H its size. Rectangles used on
// chroma planes should be even-aligned; odd ones are widened to whole chroma samples.
type Rect struct{ X, Y, W, H int }

// Empty reports whether r covers no pixel.
func (r Rect) Empty() bool { return r.W <= 0 || r.H <= 0 }

// Intersect returns the part of r inside s (an empty Rect when they do not overlap).
func (r Rect) Intersect(s Rect) Rect {
	x0, y0 := max(r.X, s.X), max(r.Y, s.Y)
	x1, y1 := min(r.X+r.W, s.X+s.W), min(r.Y+r.H, s.Y+s.H)
	if x1 <= x0 || y1 <= y0 {
		return Rect{}
	}
	return Rect{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}
}

// chroma returns the chroma-plane rectangle covering the luma rectangle r: odd edges are
// widened outwards to whole chroma samples.
func (r Rect) chroma() Rect {
	x0, y0 := floorHalf(r.X), floorHalf(r.Y)
	x1, y1 := floorHalf(r.X+r.W+1), floorHalf(r.Y+r.H+1)
	return Rect{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}
}

// floorHalf divides by two rounding towards minus infinity.
func floorHalf(v int) int { return v >> 1 }
