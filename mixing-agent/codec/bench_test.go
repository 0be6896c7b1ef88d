package codec

import (
	"testing"

	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
)

func benchmarkEncode(b *testing.B, name string) {
	enc := newEncoder(b, VideoEncoderConfig{Codec: name, Width: 640, Height: 480, Framerate: 30})
	// Alternate two pictures so the encoder codes real motion rather than static blocks.
	pics := []*yuv.Image{quadrants(640, 480), solid(640, 480, red)}
	fillRect(pics[1], 200, 120, 240, 240, white)
	bytes := 0
	b.ResetTimer()
	for i := range b.N {
		frame, _, err := enc.Encode(pics[i%2], false)
		if err != nil {
			b.Fatal(err)
		}
		bytes += len(frame)
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/frame")
}

func BenchmarkEncodeVP8_640x480(b *testing.B) { benchmarkEncode(b, "vp8") }

func BenchmarkEncodeH264_640x480(b *testing.B) { benchmarkEncode(b, "h264") }

// BenchmarkDecodeVP8 decodes a 640x480 keyframe followed by inter frames, cycling.
func BenchmarkDecodeVP8(b *testing.B) {
	enc := newEncoder(b, VideoEncoderConfig{Codec: "vp8", Width: 640, Height: 480, Framerate: 30, KeyFrameInterval: 30})
	pics := []*yuv.Image{quadrants(640, 480), solid(640, 480, red)}
	var frames [][]byte
	for i := range 30 {
		frame, _, err := enc.Encode(pics[i%2], false)
		if err != nil {
			b.Fatal(err)
		}
		frames = append(frames, frame)
	}
	dec := newDecoder(b, "vp8")
	b.ResetTimer()
	for i := range b.N {
		if _, err := dec.Decode(frames[i%len(frames)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpusEncode(b *testing.B) {
	enc, err := NewOpusEncoder(2, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	pcm := sine(440, 8000, 2, 1)
	out := make([]byte, 1500)
	b.ResetTimer()
	for range b.N {
		if _, err := enc.Encode(pcm, out); err != nil {
			b.Fatal(err)
		}
	}
}
