// Package yuv holds raw I420 (YUV 4:2:0 planar, BT.601 limited range) pictures and the
// operations the mixer needs on them: background fill, rectangle fill, scaled drawing with
// letterbox or crop fitting, and region statistics. Operations clip to the picture and never
// allocate in steady state.
package yuv

import (
	"errors"
	"fmt"
)

// ErrInvalidImage reports a picture whose sizes, strides or planes do not agree.
var ErrInvalidImage = errors.New("yuv: invalid image")

// ErrSizeMismatch reports two pictures of different sizes where equal ones are needed.
var ErrSizeMismatch = errors.New("yuv: image sizes differ")

// MaxDimension bounds the width and height NewImage accepts (larger values are clamped).
const MaxDimension = 8192

// Image is an I420 picture. Width and Height are even; the chroma planes are half size in
// both directions. Strides may exceed the visible width.
type Image struct {
	Width, Height             int
	Y, U, V                   []byte
	YStride, UStride, VStride int
}

// NewImage returns a black picture of width×height (rounded up to even sizes) with tight
// strides. Sizes below 2 become 2 and sizes above MaxDimension become MaxDimension.
func NewImage(width, height int) *Image {
	width = min(max(width, 2), MaxDimension)
	height = min(max(height, 2), MaxDimension)
	width += width & 1
	height += height & 1
	cw, ch := width/2, height/2
	buf := make([]byte, width*height+2*cw*ch)
	img := &Image{
		Width: width, Height: height,
		Y: buf[:width*height], U: buf[width*height : width*height+cw*ch], V: buf[width*height+cw*ch:],
		YStride: width, UStride: cw, VStride: cw,
	}
	for i := range img.Y {
		img.Y[i] = 16
	}
	for i := range img.U {
		img.U[i], img.V[i] = 128, 128
	}
	return img
}

// Validate checks that the picture's sizes are positive and even and that every plane holds
// its rows at its stride, so the other operations can index it safely. Pictures built
// outside NewImage (for example from a decoder's buffers) should be checked once.
func (img *Image) Validate() error {
	if img == nil {
		return fmt.Errorf("%w: nil", ErrInvalidImage)
	}
	if img.Width <= 0 || img.Height <= 0 || img.Width%2 != 0 || img.Height%2 != 0 {
		return fmt.Errorf("%w: size %dx%d must be positive and even", ErrInvalidImage, img.Width, img.Height)
	}
	cw, ch := img.Width/2, img.Height/2
	for _, p := range []struct {
		name         string
		buf          []byte
		stride, w, h int
	}{{"Y", img.Y, img.YStride, img.Width, img.Height}, {"U", img.U, img.UStride, cw, ch}, {"V", img.V, img.VStride, cw, ch}} {
		if p.stride < p.w {
			return fmt.Errorf("%w: %s stride %d is below the plane width %d", ErrInvalidImage, p.name, p.stride, p.w)
		}
		if need := (p.h-1)*p.stride + p.w; len(p.buf) < need {
			return fmt.Errorf("%w: %s plane holds %d bytes, needs %d", ErrInvalidImage, p.name, len(p.buf), need)
		}
	}
	return nil
}

// bounds returns the picture's rectangle.
func (img *Image) bounds() Rect { return Rect{W: img.Width, H: img.Height} }

// Clone returns a copy of the picture with tight strides. The copy of a picture that fails
// Validate is black.
func (img *Image) Clone() *Image {
	if img == nil {
		return nil
	}
	c := NewImage(img.Width, img.Height)
	_ = c.CopyFrom(img) // an invalid source leaves the copy black, as documented
	return c
}

// CopyFrom copies src's pixels into img, which must have the same size.
func (img *Image) CopyFrom(src *Image) error {
	if err := src.Validate(); err != nil {
		return err
	}
	if err := img.Validate(); err != nil {
		return err
	}
	if src.Width != img.Width || src.Height != img.Height {
		return fmt.Errorf("%w: %dx%d into %dx%d", ErrSizeMismatch, src.Width, src.Height, img.Width, img.Height)
	}
	copyPlane(img.Y, img.YStride, src.Y, src.YStride, img.Width, img.Height)
	copyPlane(img.U, img.UStride, src.U, src.UStride, img.Width/2, img.Height/2)
	copyPlane(img.V, img.VStride, src.V, src.VStride, img.Width/2, img.Height/2)
	return nil
}

// copyPlane copies w×h bytes between planes of the given strides.
func copyPlane(dst []byte, dstStride int, src []byte, srcStride, w, h int) {
	for row := range h {
		copy(dst[row*dstStride:row*dstStride+w], src[row*srcStride:row*srcStride+w])
	}
}
