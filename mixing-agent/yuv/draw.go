package yuv

// Fit policies of Draw (OWT view.video.layout.fitPolicy).
const (
	FitLetterbox = "letterbox" // keep the aspect ratio, show the whole picture, leave bars
	FitCrop      = "crop"      // keep the aspect ratio, fill the rectangle, crop the overflow
)

// Draw scales src into dstRect of dst. With FitCrop the picture fills dstRect and the overflow
// is cropped evenly on both sides; with FitLetterbox (or any other value) the whole picture is
// shown centred and the bars keep dst's current content (the caller painted the background).
// Scaling is bilinear, or a box (area) average when shrinking by more than 2 in both
// directions so that large reductions do not alias. Parts outside dst are clipped; invalid
// pictures or an empty dstRect draw nothing. Draw does not allocate.
func Draw(dst *Image, dstRect Rect, src *Image, fit string) {
	if dst.Validate() != nil || src.Validate() != nil || dstRect.Empty() {
		return
	}
	from, to := fitRects(src.Width, src.Height, dstRect, fit)
	if from.Empty() || to.Empty() {
		return
	}
	scalePlane(dst.Y, dst.YStride, dst.bounds(), to, src.Y, src.YStride, from)
	cFrom, cTo := halve(from), halve(to)
	cClip := Rect{W: dst.Width / 2, H: dst.Height / 2}
	scalePlane(dst.U, dst.UStride, cClip, cTo, src.U, src.UStride, cFrom)
	scalePlane(dst.V, dst.VStride, cClip, cTo, src.V, src.VStride, cFrom)
}

// fitRects returns the source rectangle to read and the destination rectangle to write for a
// sw×sh picture drawn into d with the given fit policy. Both are even-aligned where the sizes
// allow it so that the chroma planes line up.
func fitRects(sw, sh int, d Rect, fit string) (from, to Rect) {
	from, to = Rect{W: sw, H: sh}, d
	srcWider := int64(sw)*int64(d.H) > int64(sh)*int64(d.W)
	if fit == FitCrop {
		if srcWider {
			from.W = clampEven(int(int64(sh)*int64(d.W)/int64(d.H)), sw)
			from.X = evenDown((sw - from.W) / 2)
		} else {
			from.H = clampEven(int(int64(sw)*int64(d.H)/int64(d.W)), sh)
			from.Y = evenDown((sh - from.H) / 2)
		}
		return from, to
	}
	if srcWider {
		to.H = clampEven(int(int64(d.W)*int64(sh)/int64(sw)), d.H)
		to.Y = d.Y + evenDown((d.H-to.H)/2)
	} else {
		to.W = clampEven(int(int64(d.H)*int64(sw)/int64(sh)), d.W)
		to.X = d.X + evenDown((d.W-to.W)/2)
	}
	return from, to
}

// clampEven rounds v to the nearest even number in [2, limit] (limit itself when below 2 or
// when rounding up would pass it).
func clampEven(v, limit int) int {
	v = (v + 1) &^ 1
	if v > limit {
		v = limit
	}
	return max(v, min(2, limit))
}

// evenDown rounds v down to an even number.
func evenDown(v int) int { return v &^ 1 }

// halve returns the chroma-plane rectangle of a luma rectangle (at least one sample wide).
func halve(r Rect) Rect {
	return Rect{X: floorHalf(r.X), Y: floorHalf(r.Y), W: max(r.W/2, 1), H: max(r.H/2, 1)}
}

// scalePlane resamples rectangle s of src onto rectangle t of dst, writing only inside clip.
func scalePlane(dst []byte, dstStride int, clip, t Rect, src []byte, srcStride int, s Rect) {
	region := t.Intersect(clip)
	if region.Empty() || s.Empty() {
		return
	}
	if s.W > 2*t.W && s.H > 2*t.H {
		scaleBox(dst, dstStride, region, t, src, srcStride, s)
		return
	}
	scaleBilinear(dst, dstStride, region, t, src, srcStride, s)
}

// samplePos returns the 16.16 fixed-point source coordinate (relative to the source
// rectangle, clamped to it) of the centre of destination sample i, for a span of srcLen
// samples stretched over dstLen.
func samplePos(i, srcLen, dstLen int) int64 {
	p := (int64(2*i+1)*int64(srcLen)<<16)/int64(2*dstLen) - 1<<15
	return min(max(p, 0), int64(srcLen-1)<<16)
}

// scaleBilinear fills region (inside t) with bilinear samples of s. Rows are processed in
// chunks of columns whose source positions are tabulated once, on the stack.
func scaleBilinear(dst []byte, dstStride int, region, t Rect, src []byte, srcStride int, s Rect) {
	const chunk = 256
	var xs [chunk]int32 // source column << 8 | weight of the right neighbour
	for cx := 0; cx < region.W; cx += chunk {
		n := min(chunk, region.W-cx)
		for i := range n {
			p := samplePos(region.X-t.X+cx+i, s.W, t.W)
			xs[i] = int32(p>>16)<<8 | int32(p>>8)&0xff
		}
		for y := region.Y; y < region.Y+region.H; y++ {
			py := samplePos(y-t.Y, s.H, t.H)
			iy := int(py >> 16)
			r0 := src[(s.Y+iy)*srcStride+s.X:][:s.W]
			r1 := src[(s.Y+min(iy+1, s.H-1))*srcStride+s.X:][:s.W]
			bilinearRow(dst[y*dstStride+region.X+cx:][:n], r0, r1, xs[:n], int32(py>>8)&0xff)
		}
	}
}

// bilinearRow writes out[i] from rows r0 and r1 (row weight fy/256 on r1) at the tabulated
// columns xs.
func bilinearRow(out, r0, r1 []byte, xs []int32, fy int32) {
	last := len(r0) - 1
	for i, x := range xs[:len(out)] {
		ix, fx := int(x>>8), x&0xff
		ix1 := min(ix+1, last)
		a, b := int32(r0[ix]), int32(r0[ix1])
		c, d := int32(r1[ix]), int32(r1[ix1])
		top := a<<8 + (b-a)*fx
		bot := c<<8 + (d-c)*fx
		out[i] = byte((top<<8 + (bot-top)*fy + 1<<15) >> 16)
	}
}

// scaleBox fills region (inside t) with the average of the source samples each destination
// sample covers.
func scaleBox(dst []byte, dstStride int, region, t Rect, src []byte, srcStride int, s Rect) {
	for y := region.Y; y < region.Y+region.H; y++ {
		y0, y1 := span(y-t.Y, s.H, t.H)
		out := dst[y*dstStride+region.X : y*dstStride+region.X+region.W]
		for i := range out {
			x0, x1 := span(region.X-t.X+i, s.W, t.W)
			var sum uint32
			for sy := y0; sy < y1; sy++ {
				for _, v := range src[(s.Y+sy)*srcStride+s.X+x0 : (s.Y+sy)*srcStride+s.X+x1] {
					sum += uint32(v)
				}
			}
			n := uint32((y1 - y0) * (x1 - x0))
			out[i] = byte((sum + n/2) / n)
		}
	}
}

// span returns the source samples [lo, hi) that destination sample i covers when srcLen
// samples shrink to dstLen (never empty).
func span(i, srcLen, dstLen int) (lo, hi int) {
	lo = i * srcLen / dstLen
	hi = min(max((i+1)*srcLen/dstLen, lo+1), srcLen)
	return lo, hi
}
