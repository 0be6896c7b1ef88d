package yuv

import (
	"errors"
	"math"
	"testing"

	"github.com/conclave-rtc/conclave/common/room"
)

// solid returns a w×h picture filled with the RGB colour.
func solid(w, h int, c room.Color) *Image {
	img := NewImage(w, h)
	img.Fill(c)
	return img
}

var (
	red   = room.Color{R: 255}
	green = room.Color{G: 255}
	blue  = room.Color{B: 255}
	white = room.Color{R: 255, G: 255, B: 255}
)

// near reports whether the region's mean colour is within tol of c.
func near(t *testing.T, img *Image, r Rect, c room.Color, tol float64) {
	t.Helper()
	wy, wu, wv := RGBToYUV(c.R, c.G, c.B)
	y, u, v := MeanColor(img, r)
	if math.Abs(y-float64(wy)) > tol || math.Abs(u-float64(wu)) > tol || math.Abs(v-float64(wv)) > tol {
		t.Fatalf("region %+v mean YUV = %.1f,%.1f,%.1f, want %d,%d,%d (±%.1f)", r, y, u, v, wy, wu, wv, tol)
	}
}

func TestYUVRGBToYUV(t *testing.T) {
	tests := []struct {
		name    string
		r, g, b int
		y, u, v byte
	}{
		{"black", 0, 0, 0, 16, 128, 128},
		{"white", 255, 255, 255, 235, 128, 128},
		{"red", 255, 0, 0, 81, 90, 240},
		{"green", 0, 255, 0, 145, 54, 34},
		{"blue", 0, 0, 255, 41, 240, 110},
		{"clamped", -10, 300, 0, 145, 54, 34},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y, u, v := RGBToYUV(tt.r, tt.g, tt.b)
			if y != tt.y || u != tt.u || v != tt.v {
				t.Fatalf("RGBToYUV(%d,%d,%d) = %d,%d,%d, want %d,%d,%d", tt.r, tt.g, tt.b, y, u, v, tt.y, tt.u, tt.v)
			}
		})
	}
}

func TestYUVNewImageSizes(t *testing.T) {
	for _, tt := range []struct{ w, h, ww, wh int }{{3, 5, 4, 6}, {0, -1, 2, 2}, {1 << 20, 4, MaxDimension, 4}} {
		img := NewImage(tt.w, tt.h)
		if img.Width != tt.ww || img.Height != tt.wh {
			t.Fatalf("NewImage(%d,%d) is %dx%d, want %dx%d", tt.w, tt.h, img.Width, img.Height, tt.ww, tt.wh)
		}
		if err := img.Validate(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestYUVValidate(t *testing.T) {
	img := NewImage(8, 8)
	short := *img
	short.V = short.V[:5]
	odd := *img
	odd.Width = 7
	narrow := *img
	narrow.UStride = 2
	for name, bad := range map[string]*Image{"nil": nil, "short plane": &short, "odd width": &odd, "narrow stride": &narrow} {
		if err := bad.Validate(); !errors.Is(err, ErrInvalidImage) {
			t.Fatalf("%s: Validate = %v, want ErrInvalidImage", name, err)
		}
		// Operations on invalid pictures do nothing rather than panic.
		bad.FillRect(Rect{W: 8, H: 8}, 1, 2, 3)
		Draw(bad, Rect{W: 8, H: 8}, img, FitCrop)
		Draw(img, Rect{W: 8, H: 8}, bad, FitCrop)
		if y, u, v := MeanColor(bad, Rect{W: 8, H: 8}); y != 0 || u != 0 || v != 0 {
			t.Fatalf("%s: MeanColor = %v,%v,%v, want zeros", name, y, u, v)
		}
	}
	near(t, img, Rect{W: 8, H: 8}, room.Color{}, 0)
}

func TestYUVFillRectClips(t *testing.T) {
	img := solid(16, 16, blue)
	img.FillRect(Rect{X: -4, Y: 10, W: 10, H: 100}, 235, 128, 128) // clipped to x 0..6, y 10..16
	near(t, img, Rect{X: 0, Y: 10, W: 6, H: 6}, white, 0)
	near(t, img, Rect{X: 6, Y: 0, W: 10, H: 16}, blue, 0)
	near(t, img, Rect{X: 0, Y: 0, W: 16, H: 10}, blue, 0)
	img.FillRect(Rect{X: 100, Y: 100, W: 5, H: 5}, 0, 0, 0) // fully outside: no change
	img.FillRect(Rect{X: 3, Y: 3, W: -1, H: 4}, 0, 0, 0)    // empty: no change
	near(t, img, Rect{X: 6, Y: 0, W: 10, H: 16}, blue, 0)
	// An odd rectangle paints the chroma samples it touches.
	img.Fill(blue)
	img.FillRect(Rect{X: 3, Y: 3, W: 3, H: 3}, 235, 128, 128)
	if img.U[1*img.UStride+1] != 128 || img.U[2*img.UStride+2] != 128 || img.U[0] != 240 {
		t.Fatalf("odd rect chroma: U[1,1]=%d U[2,2]=%d U[0,0]=%d", img.U[img.UStride+1], img.U[2*img.UStride+2], img.U[0])
	}
}

func TestYUVCopyAndClone(t *testing.T) {
	src := solid(32, 16, red)
	c := src.Clone()
	near(t, c, Rect{W: 32, H: 16}, red, 0)
	c.Fill(green)
	near(t, src, Rect{W: 32, H: 16}, red, 0)
	if err := NewImage(16, 16).CopyFrom(src); !errors.Is(err, ErrSizeMismatch) {
		t.Fatalf("CopyFrom of another size = %v, want ErrSizeMismatch", err)
	}
	// A source with wide strides copies its visible part only.
	wide := &Image{Width: 4, Height: 2, YStride: 6, UStride: 3, VStride: 3,
		Y: []byte{1, 2, 3, 4, 99, 99, 5, 6, 7, 8, 99, 99}, U: []byte{9, 10, 99}, V: []byte{11, 12, 99}}
	dst := NewImage(4, 2)
	if err := dst.CopyFrom(wide); err != nil {
		t.Fatal(err)
	}
	if string(dst.Y) != string([]byte{1, 2, 3, 4, 5, 6, 7, 8}) || string(dst.U) != "\x09\x0a" || string(dst.V) != "\x0b\x0c" {
		t.Fatalf("CopyFrom strided: Y=%v U=%v V=%v", dst.Y, dst.U, dst.V)
	}
}

// stripes returns a w×h picture whose columns [0,a) are c1, [a,b) c2 and [b,w) c3.
func stripes(w, h, a, b int, c1, c2, c3 room.Color) *Image {
	img := NewImage(w, h)
	for _, s := range []struct {
		r Rect
		c room.Color
	}{{Rect{0, 0, a, h}, c1}, {Rect{a, 0, b - a, h}, c2}, {Rect{b, 0, w - b, h}, c3}} {
		y, u, v := RGBToYUV(s.c.R, s.c.G, s.c.B)
		img.FillRect(s.r, y, u, v)
	}
	return img
}

func TestYUVDrawFit(t *testing.T) {
	// A 640x360 picture: blue | red (central square) | green.
	src := stripes(640, 360, 140, 500, blue, red, green)
	t.Run("crop", func(t *testing.T) {
		dst := solid(400, 400, white)
		Draw(dst, Rect{X: 40, Y: 40, W: 200, H: 200}, src, FitCrop)
		near(t, dst, Rect{X: 44, Y: 44, W: 192, H: 192}, red, 1) // the central square fills the rect
		near(t, dst, Rect{X: 240, Y: 0, W: 160, H: 400}, white, 0)
		near(t, dst, Rect{X: 0, Y: 0, W: 40, H: 400}, white, 0)
	})
	t.Run("letterbox", func(t *testing.T) {
		dst := solid(400, 400, white)
		Draw(dst, Rect{W: 320, H: 320}, src, FitLetterbox)
		// 640x360 into 320x320 → 320x180 centred vertically (y 70..250), white bars.
		near(t, dst, Rect{X: 0, Y: 0, W: 320, H: 70}, white, 0)
		near(t, dst, Rect{X: 0, Y: 250, W: 320, H: 70}, white, 0)
		near(t, dst, Rect{X: 0, Y: 72, W: 68, H: 176}, blue, 1)
		near(t, dst, Rect{X: 72, Y: 72, W: 176, H: 176}, red, 1)
		near(t, dst, Rect{X: 252, Y: 72, W: 68, H: 176}, green, 1)
	})
	t.Run("letterbox tall", func(t *testing.T) {
		dst := solid(400, 400, white)
		Draw(dst, Rect{W: 400, H: 200}, solid(100, 200, red), FitLetterbox)
		// 100x200 into 400x200 → 100x200 at x 150..250.
		near(t, dst, Rect{X: 0, Y: 0, W: 150, H: 200}, white, 0)
		near(t, dst, Rect{X: 150, Y: 0, W: 100, H: 200}, red, 0)
		near(t, dst, Rect{X: 250, Y: 0, W: 150, H: 200}, white, 0)
	})
}

func TestYUVDrawClipsAndOddSizes(t *testing.T) {
	src := solid(6, 4, red)
	for _, r := range []Rect{
		{X: -50, Y: -50, W: 100, H: 100}, {X: 30, Y: 30, W: 100, H: 7}, {X: 1, Y: 1, W: 1, H: 1},
		{X: 3, Y: 5, W: 7, H: 9}, {X: 1000, Y: 0, W: 10, H: 10}, {W: 0, H: 10}, {X: -1 << 40, W: 1 << 41, H: 4},
	} {
		for _, fit := range []string{FitCrop, FitLetterbox, "bogus"} {
			dst := solid(40, 40, white)
			Draw(dst, r, src, fit)
		}
	}
	dst := solid(40, 40, white)
	Draw(dst, Rect{X: -20, Y: -20, W: 40, H: 40}, solid(40, 40, red), FitCrop)
	near(t, dst, Rect{W: 20, H: 20}, red, 0)
	near(t, dst, Rect{X: 20, W: 20, H: 40}, white, 0)
}

// ramp returns a picture whose luma grows by one per column.
func ramp(w, h int) *Image {
	img := NewImage(w, h)
	for y := range h {
		for x := range w {
			img.Y[y*img.YStride+x] = byte(16 + x%200)
		}
	}
	return img
}

func TestYUVDrawBilinear(t *testing.T) {
	src := ramp(100, 10)
	// Upscaling 2x: each output sample interpolates between its neighbours, so the ramp
	// stays monotonic with steps of at most one level.
	dst := NewImage(200, 20)
	Draw(dst, Rect{W: 200, H: 20}, src, FitCrop)
	row := dst.Y[10*dst.YStride : 10*dst.YStride+200]
	for x := 1; x < 200; x++ {
		if d := int(row[x]) - int(row[x-1]); d < 0 || d > 1 {
			t.Fatalf("upscaled ramp step at x=%d: %d → %d", x, row[x-1], row[x])
		}
	}
	// Halving averages pairs: column x is the mean of 2x and 2x+1, i.e. 16 + 2x + 0.5.
	half := NewImage(50, 6)
	Draw(half, Rect{W: 50, H: 6}, src, FitLetterbox)
	for x := range 50 {
		if got, want := float64(half.Y[2*half.YStride+x]), 16+2*float64(x)+0.5; math.Abs(got-want) > 0.5 {
			t.Fatalf("halved ramp x=%d: %v, want %v", x, got, want)
		}
	}
}

func TestYUVDrawBoxAvoidsAliasing(t *testing.T) {
	// A one-pixel checkerboard shrunk 4x must become flat grey, not a moiré of 16s and 235s.
	src := NewImage(64, 64)
	for y := range 64 {
		for x := range 64 {
			src.Y[y*64+x] = byte(16 + 219*((x+y)&1))
		}
	}
	dst := NewImage(16, 16)
	Draw(dst, Rect{W: 16, H: 16}, src, FitCrop)
	for i, v := range dst.Y {
		if v < 124 || v > 127 {
			t.Fatalf("shrunk checkerboard sample %d = %d, want ≈125", i, v)
		}
	}
}

func TestYUVDrawAllocations(t *testing.T) {
	src, dst := ramp(640, 480), NewImage(640, 480)
	allocs := testing.AllocsPerRun(20, func() {
		dst.Fill(red)
		Draw(dst, Rect{X: 10, Y: 10, W: 320, H: 240}, src, FitLetterbox)
		Draw(dst, Rect{X: 330, Y: 10, W: 100, H: 240}, src, FitCrop)
		MeanColor(dst, Rect{W: 64, H: 64})
	})
	if allocs != 0 {
		t.Fatalf("Fill/Draw/MeanColor allocate %v times per run, want 0", allocs)
	}
}

func FuzzDraw(f *testing.F) {
	f.Add(640, 480, 320, 240, 0, 0, 320, 240, true)
	f.Add(3, 1, 7, 9, -5, 3, 11, 1, false)
	f.Fuzz(func(t *testing.T, sw, sh, dw, dh, x, y, w, h int, crop bool) {
		src := ramp(min(max(sw, 1), 300), min(max(sh, 1), 300))
		dst := NewImage(min(max(dw, 1), 300), min(max(dh, 1), 300))
		fit := FitLetterbox
		if crop {
			fit = FitCrop
		}
		Draw(dst, Rect{X: x, Y: y, W: w % 1000, H: h % 1000}, src, fit)
		dst.FillRect(Rect{X: x, Y: y, W: w, H: h}, 1, 2, 3)
		MeanColor(dst, Rect{X: x, Y: y, W: w, H: h})
		if err := dst.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkYUVDraw(b *testing.B) {
	for _, bc := range []struct {
		name           string
		sw, sh, dw, dh int
	}{{"640x480to320x240", 640, 480, 320, 240}, {"1280x720to320x180", 1280, 720, 320, 180}, {"320x240to640x480", 320, 240, 640, 480}} {
		b.Run(bc.name, func(b *testing.B) {
			src, dst := ramp(bc.sw, bc.sh), NewImage(bc.dw, bc.dh)
			b.ReportAllocs()
			for b.Loop() {
				Draw(dst, Rect{W: bc.dw, H: bc.dh}, src, FitCrop)
			}
		})
	}
}
