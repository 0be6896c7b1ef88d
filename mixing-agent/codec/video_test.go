package codec

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
)

type colour struct{ y, u, v byte }

var (
	red   = colour{81, 90, 240}
	green = colour{145, 54, 34}
	blue  = colour{41, 240, 110}
	white = colour{235, 128, 128}
)

// fillRect paints a rectangle (even coordinates) of img.
func fillRect(img *yuv.Image, x0, y0, w, h int, c colour) {
	for y := y0; y < y0+h; y++ {
		for x := x0; x < x0+w; x++ {
			img.Y[y*img.YStride+x] = c.y
		}
	}
	for y := y0 / 2; y < (y0+h)/2; y++ {
		for x := x0 / 2; x < (x0+w)/2; x++ {
			img.U[y*img.UStride+x] = c.u
			img.V[y*img.VStride+x] = c.v
		}
	}
}

func solid(w, h int, c colour) *yuv.Image {
	img := yuv.NewImage(w, h)
	fillRect(img, 0, 0, w, h, c)
	return img
}

// quadrants returns a picture whose four quadrants are red, green, blue and white.
func quadrants(w, h int) *yuv.Image {
	img := yuv.NewImage(w, h)
	for i, c := range []colour{red, green, blue, white} {
		fillRect(img, i%2*w/2, i/2*h/2, w/2, h/2, c)
	}
	return img
}

// regionMean returns the mean of each plane over a rectangle given in luma coordinates.
func regionMean(img *yuv.Image, x0, y0, w, h int) [3]float64 {
	var sum [3]float64
	for y := y0; y < y0+h; y++ {
		for x := x0; x < x0+w; x++ {
			sum[0] += float64(img.Y[y*img.YStride+x])
		}
	}
	for y := y0 / 2; y < (y0+h)/2; y++ {
		for x := x0 / 2; x < (x0+w)/2; x++ {
			sum[1] += float64(img.U[y*img.UStride+x])
			sum[2] += float64(img.V[y*img.VStride+x])
		}
	}
	n := float64(w * h)
	return [3]float64{sum[0] / n, sum[1] / (n / 4), sum[2] / (n / 4)}
}

// meanTolerance is how far a decoded plane mean may stray from the encoded colour: libvpx's
// CBR keyframes quantise flat chroma by up to ±5.
const meanTolerance = 6

func deviation(got [3]float64, want colour) float64 {
	d := 0.0
	for i, w := range []byte{want.y, want.u, want.v} {
		d = max(d, math.Abs(got[i]-float64(w)))
	}
	return d
}

func checkMean(t *testing.T, what string, got [3]float64, want colour, tol float64) {
	t.Helper()
	for i, w := range []byte{want.y, want.u, want.v} {
		if math.Abs(got[i]-float64(w)) > tol {
			t.Fatalf("%s: plane %c mean %.1f, want %d±%.0f", what, "YUV"[i], got[i], w, tol)
		}
	}
}

func newEncoder(t testing.TB, cfg VideoEncoderConfig) VideoEncoder {
	t.Helper()
	enc, err := NewVideoEncoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(enc.Close)
	return enc
}

func newDecoder(t testing.TB, name string) VideoDecoder {
	t.Helper()
	dec, err := NewVideoDecoder(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dec.Close)
	return dec
}

var videoCodecs = []string{"vp8", "h264"}

func TestCodecVideoRoundTrip(t *testing.T) {
	for _, name := range videoCodecs {
		for _, size := range [][2]int{{320, 240}, {640, 480}} {
			w, h := size[0], size[1]
			t.Run(fmt.Sprintf("%s_%dx%d", name, w, h), func(t *testing.T) {
				const interval = 10
				enc := newEncoder(t, VideoEncoderConfig{Codec: name, Width: w, Height: h, Framerate: 30, KeyFrameInterval: interval})
				dec := newDecoder(t, name)
				var keys []int
				total, worst := 0, 0.0
				for i := range 3 * interval {
					frame, key, err := enc.Encode(solid(w, h, red), false)
					if err != nil || frame == nil {
						t.Fatalf("frame %d: %v (%d bytes)", i, err, len(frame))
					}
					total += len(frame)
					if key {
						keys = append(keys, i)
					}
					img, err := dec.Decode(frame)
					if err != nil || img == nil {
						t.Fatalf("decode frame %d: %v, picture %v", i, err, img != nil)
					}
					if img.Width != w || img.Height != h {
						t.Fatalf("decoded %dx%d, want %dx%d", img.Width, img.Height, w, h)
					}
					m := regionMean(img, 0, 0, w, h)
					worst = max(worst, deviation(m, red))
					checkMean(t, fmt.Sprintf("frame %d", i), m, red, meanTolerance)
				}
				if fmt.Sprint(keys) != fmt.Sprint([]int{0, interval, 2 * interval}) {
					t.Fatalf("keyframes at %v, want every %d frames from 0", keys, interval)
				}
				t.Logf("%d frames, %d bytes, largest plane-mean error %.1f", 3*interval, total, worst)
			})
		}
	}
}

func TestCodecVideoForceKey(t *testing.T) {
	for _, name := range videoCodecs {
		t.Run(name, func(t *testing.T) {
			enc := newEncoder(t, VideoEncoderConfig{Codec: name, Width: 320, Height: 240, Framerate: 30, BitrateKbps: 300})
			for i := range 8 {
				force := i == 5
				frame, key, err := enc.Encode(solid(320, 240, green), force)
				if err != nil || frame == nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if want := i == 0 || force; key != want {
					t.Fatalf("frame %d: key %v, want %v", i, key, want)
				}
			}
		})
	}
}

func TestCodecVideoQuadrants(t *testing.T) {
	const w, h, margin = 640, 480, 16
	for _, name := range videoCodecs {
		t.Run(name, func(t *testing.T) {
			enc := newEncoder(t, VideoEncoderConfig{Codec: name, Profile: "H", Width: w, Height: h, Framerate: 30})
			dec := newDecoder(t, name)
			var img *yuv.Image
			for i := range 5 {
				frame, _, err := enc.Encode(quadrants(w, h), false)
				if err != nil {
					t.Fatal(err)
				}
				if img, err = dec.Decode(frame); err != nil || img == nil {
					t.Fatalf("decode frame %d: %v", i, err)
				}
			}
			for i, c := range []colour{red, green, blue, white} {
				got := regionMean(img, i%2*w/2+margin, i/2*h/2+margin, w/2-2*margin, h/2-2*margin)
				t.Logf("quadrant %d: means %.1f, sent %v", i, got, c)
				checkMean(t, fmt.Sprintf("quadrant %d", i), got, c, meanTolerance)
			}
		})
	}
}

func TestCodecVideoSetBitrate(t *testing.T) {
	for _, name := range videoCodecs {
		t.Run(name, func(t *testing.T) {
			enc := newEncoder(t, VideoEncoderConfig{Codec: name, Width: 320, Height: 240, Framerate: 30})
			if err := enc.SetBitrate(200); err != nil {
				t.Fatal(err)
			}
			if err := enc.SetBitrate(0); !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("SetBitrate(0) = %v", err)
			}
			if _, _, err := enc.Encode(solid(320, 240, blue), false); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCodecVideoConfigErrors(t *testing.T) {
	ok := VideoEncoderConfig{Codec: "vp8", Width: 320, Height: 240, Framerate: 30}
	tests := []struct {
		name   string
		mutate func(*VideoEncoderConfig)
		want   error
	}{
		{"codec", func(c *VideoEncoderConfig) { c.Codec = "av1" }, ErrUnsupported},
		{"profile", func(c *VideoEncoderConfig) { c.Codec, c.Profile = "h264", "X" }, ErrUnsupported},
		{"odd width", func(c *VideoEncoderConfig) { c.Width = 321 }, ErrInvalidConfig},
		{"zero height", func(c *VideoEncoderConfig) { c.Height = 0 }, ErrInvalidConfig},
		{"too wide", func(c *VideoEncoderConfig) { c.Width = 4098 }, ErrInvalidConfig},
		{"framerate", func(c *VideoEncoderConfig) { c.Framerate = 121 }, ErrInvalidConfig},
		{"bitrate", func(c *VideoEncoderConfig) { c.BitrateKbps = -1 }, ErrInvalidConfig},
		{"keyframe interval", func(c *VideoEncoderConfig) { c.KeyFrameInterval = -1 }, ErrInvalidConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mutate(&cfg)
			if enc, err := NewVideoEncoder(cfg); !errors.Is(err, tc.want) {
				if enc != nil {
					enc.Close()
				}
				t.Fatalf("NewVideoEncoder(%+v) = %v, want %v", cfg, err, tc.want)
			}
		})
	}
	if _, err := NewVideoDecoder("av1"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("NewVideoDecoder(av1) = %v", err)
	}
}

func TestCodecVideoBadInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 2000)
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	for _, name := range []string{"vp8", "vp9", "h264"} {
		t.Run(name, func(t *testing.T) {
			dec := newDecoder(t, name)
			for _, in := range [][]byte{nil, {0x9d}, garbage} {
				if img, err := dec.Decode(in); err == nil {
					t.Fatalf("Decode(%d garbage bytes) = %v, nil; want an error", len(in), img != nil)
				}
			}
			if name == "h264" {
				// Behind a start code, libavcodec may skip what it cannot parse: no picture, maybe no error.
				if img, _ := dec.Decode(append([]byte{0, 0, 0, 1}, garbage...)); img != nil {
					t.Fatal("garbage after a start code produced a picture")
				}
			}
			dec.Close()
			dec.Close()
			if _, err := dec.Decode(garbage); !errors.Is(err, ErrClosed) {
				t.Fatalf("Decode after Close = %v", err)
			}
		})
	}
	enc := newEncoder(t, VideoEncoderConfig{Codec: "h264", Width: 320, Height: 240, Framerate: 30})
	if _, _, err := enc.Encode(solid(640, 480, red), false); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("Encode of a wrong-size picture = %v", err)
	}
	short := solid(320, 240, red)
	short.V = short.V[:10]
	if _, _, err := enc.Encode(short, false); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("Encode of a truncated picture = %v", err)
	}
}

// TestCodecVideoOddSize decodes a stream whose pictures have odd sizes (a VP8 encoder
// cannot be asked for one here, so the decoder is fed an encoded 322x242 stream whose
// header is patched to 321x241) and expects an even picture with the edge repeated.
func TestCodecVideoOddSize(t *testing.T) {
	enc := newEncoder(t, VideoEncoderConfig{Codec: "vp8", Width: 322, Height: 242, Framerate: 30})
	frame, key, err := enc.Encode(solid(322, 242, white), false)
	if err != nil || !key {
		t.Fatalf("keyframe: %v, %v", key, err)
	}
	// VP8 keyframe header (RFC 6386 §9.1): 3-byte tag, start code, 14-bit width and height.
	frame[6], frame[7] = 321&0xFF, frame[7]&0xC0|321>>8
	frame[8], frame[9] = 241&0xFF, frame[9]&0xC0|241>>8
	img, err := newDecoder(t, "vp8").Decode(frame)
	if err != nil || img == nil {
		t.Fatalf("decode: %v", err)
	}
	if img.Width != 322 || img.Height != 242 {
		t.Fatalf("decoded %dx%d, want 322x242", img.Width, img.Height)
	}
	checkMean(t, "odd picture", regionMean(img, 0, 0, 322, 242), white, 3)
}
