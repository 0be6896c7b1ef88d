package codec

import (
	"fmt"
	"unsafe"

	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
)

// maxDecodedDimension bounds the pictures a decoder hands out.
const maxDecodedDimension = 8192

// plane is a view of one plane of a C-owned picture.
type plane struct {
	data   unsafe.Pointer
	stride int
}

// copyPicture copies a C-owned I420 picture of w×h into a new yuv.Image. Odd sizes are
// rounded up to even ones by repeating the last column and row, since yuv.Image is even.
func copyPicture(w, h int, y, u, v plane) (*yuv.Image, error) {
	if w <= 0 || h <= 0 || w > maxDecodedDimension || h > maxDecodedDimension {
		return nil, fmt.Errorf("%w: decoded picture %dx%d", ErrUnsupported, w, h)
	}
	img := yuv.NewImage(w, h)
	if img.Width != w+w&1 || img.Height != h+h&1 {
		return nil, fmt.Errorf("%w: decoded picture %dx%d exceeds the picture limit", ErrUnsupported, w, h)
	}
	cw, ch := (w+1)/2, (h+1)/2
	copyPlane(img.Y, img.YStride, img.Height, y, w, h)
	copyPlane(img.U, img.UStride, img.Height/2, u, cw, ch)
	copyPlane(img.V, img.VStride, img.Height/2, v, cw, ch)
	return img, nil
}

// copyPlane copies w×h bytes from src into dst (dstH rows of dstStride), repeating the last
// column and row into any padding.
func copyPlane(dst []byte, dstStride, dstH int, src plane, w, h int) {
	if src.stride < w {
		return // never produced by the libraries; leave the plane at its initial value
	}
	s := unsafe.Slice((*byte)(src.data), (h-1)*src.stride+w)
	for row := range dstH {
		sr := min(row, h-1)
		d := dst[row*dstStride : row*dstStride+dstStride]
		n := copy(d[:w], s[sr*src.stride:sr*src.stride+w])
		for x := n; x < dstStride && x < len(d); x++ {
			d[x] = d[n-1]
		}
	}
}

// checkImage verifies img is a usable w×h I420 picture before it is read.
func checkImage(img *yuv.Image, w, h int) error {
	if img == nil {
		return fmt.Errorf("%w: nil picture", ErrInvalidInput)
	}
	if img.Width != w || img.Height != h {
		return fmt.Errorf("%w: picture %dx%d, encoder expects %dx%d", ErrInvalidInput, img.Width, img.Height, w, h)
	}
	cw, ch := w/2, h/2
	for _, p := range []struct {
		name         string
		buf          []byte
		stride, w, h int
	}{{"Y", img.Y, img.YStride, w, h}, {"U", img.U, img.UStride, cw, ch}, {"V", img.V, img.VStride, cw, ch}} {
		if p.stride < p.w || len(p.buf) < (p.h-1)*p.stride+p.w {
			return fmt.Errorf("%w: %s plane of %d bytes at stride %d is too small for %dx%d", ErrInvalidInput, p.name, len(p.buf), p.stride, p.w, p.h)
		}
	}
	return nil
}

// fillPlane copies a w×h Go plane into a C-owned plane of the given stride.
func fillPlane(dst plane, src []byte, srcStride, w, h int) {
	d := unsafe.Slice((*byte)(dst.data), (h-1)*dst.stride+w)
	for row := range h {
		copy(d[row*dst.stride:row*dst.stride+w], src[row*srcStride:row*srcStride+w])
	}
}
