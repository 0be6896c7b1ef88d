package yuv

import "github.com/conclave-rtc/conclave/common/room"

// RGBToYUV converts an 8-bit RGB colour to BT.601 limited-range YUV (ITU-R BT.601 with
// 16..235 luma and 16..240 chroma), rounded to the nearest level using 16.16 fixed-point
// coefficients. Components outside 0..255 are clamped.
func RGBToYUV(r, g, b int) (y, u, v byte) {
	r, g, b = clamp255(r), clamp255(g), clamp255(b)
	yy := (16829*r+33039*g+6416*b+1<<15)>>16 + 16
	uu := (-9714*r-19070*g+28784*b+1<<15)>>16 + 128
	vv := (28784*r-24103*g-4681*b+1<<15)>>16 + 128
	return byte(yy), byte(uu), byte(vv)
}

// clamp255 limits v to 0..255.
func clamp255(v int) int { return min(max(v, 0), 255) }

// Fill paints the whole picture with the RGB colour c (a view's bgColor).
func (img *Image) Fill(c room.Color) {
	y, u, v := RGBToYUV(c.R, c.G, c.B)
	img.FillRect(img.bounds(), y, u, v)
}

// FillRect paints the part of r inside the picture with y, u, v. The chroma samples covering
// r's odd edges are painted too. An invalid picture is left untouched.
func (img *Image) FillRect(r Rect, y, u, v byte) {
	if img.Validate() != nil {
		return
	}
	r = r.Intersect(img.bounds())
	if r.Empty() {
		return
	}
	fillPlane(img.Y, img.YStride, r, y)
	c := r.chroma()
	fillPlane(img.U, img.UStride, c, u)
	fillPlane(img.V, img.VStride, c, v)
}

// fillPlane sets the bytes of r (already clipped) to val.
func fillPlane(p []byte, stride int, r Rect, val byte) {
	for row := r.Y; row < r.Y+r.H; row++ {
		line := p[row*stride+r.X : row*stride+r.X+r.W]
		for i := range line {
			line[i] = val
		}
	}
}

// MeanColor returns the mean Y, U and V of the part of r inside img (zeros when that part is
// empty or the picture is invalid). Tests use it to check what a region shows.
func MeanColor(img *Image, r Rect) (y, u, v float64) {
	if img.Validate() != nil {
		return 0, 0, 0
	}
	r = r.Intersect(img.bounds())
	if r.Empty() {
		return 0, 0, 0
	}
	c := r.chroma()
	return meanPlane(img.Y, img.YStride, r), meanPlane(img.U, img.UStride, c), meanPlane(img.V, img.VStride, c)
}

// meanPlane averages the bytes of r (already clipped, non-empty).
func meanPlane(p []byte, stride int, r Rect) float64 {
	var sum uint64
	for row := r.Y; row < r.Y+r.H; row++ {
		for _, b := range p[row*stride+r.X : row*stride+r.X+r.W] {
			sum += uint64(b)
		}
	}
	return float64(sum) / float64(r.W*r.H)
}
