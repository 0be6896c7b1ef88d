package codec

import (
	"testing"
)

// encodedFrames returns the first n frames of a 160x120 quadrant clip in codec name.
func encodedFrames(f *testing.F, name string, n int) [][]byte {
	f.Helper()
	enc, err := NewVideoEncoder(VideoEncoderConfig{Codec: name, Width: 160, Height: 120, Framerate: 30})
	if err != nil {
		f.Fatal(err)
	}
	defer enc.Close()
	var out [][]byte
	for range n {
		frame, _, err := enc.Encode(quadrants(160, 120), false)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, frame)
	}
	return out
}

// fuzzVideoDecoder feeds arbitrary bytes (as a remote publisher could send) to a fresh
// decoder, first alone and then after a valid keyframe, so both the header parsing and the
// inter-frame paths see hostile input. Any picture must be a valid yuv.Image.
func fuzzVideoDecoder(f *testing.F, name string) {
	frames := encodedFrames(f, name, 2)
	for _, fr := range frames {
		f.Add(fr)
	}
	f.Add(frames[0][:len(frames[0])/2])
	f.Add([]byte{0, 0, 0, 1, 0x67, 0x42, 0xC0, 0x1E})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, prefix := range [][]byte{nil, frames[0]} {
			dec, err := NewVideoDecoder(name)
			if err != nil {
				t.Fatal(err)
			}
			if prefix != nil {
				if _, err := dec.Decode(prefix); err != nil {
					t.Fatal(err)
				}
			}
			img, err := dec.Decode(data)
			if err == nil && img != nil {
				if img.Width <= 0 || img.Height <= 0 || img.Width%2 != 0 || img.Height%2 != 0 ||
					len(img.Y) < img.Width*img.Height || len(img.U) < img.Width*img.Height/4 || len(img.V) < img.Width*img.Height/4 {
					t.Fatalf("malformed picture %dx%d", img.Width, img.Height)
				}
			}
			dec.Close()
		}
	})
}

func FuzzVP8Decode(f *testing.F) { fuzzVideoDecoder(f, "vp8") }

func FuzzH264Decode(f *testing.F) { fuzzVideoDecoder(f, "h264") }

// FuzzOpusDecode feeds arbitrary packets to the Opus decoder with buffers of varying size.
func FuzzOpusDecode(f *testing.F) {
	enc, err := NewOpusEncoder(2, 0)
	if err != nil {
		f.Fatal(err)
	}
	pkt := make([]byte, 1500)
	n, err := enc.Encode(sine(440, 8000, 2, 1), pkt)
	enc.Close()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pkt[:n], uint16(OpusMaxFrameSamples))
	f.Add([]byte{0x03, 0x00}, uint16(960))
	f.Add([]byte{}, uint16(100))
	f.Fuzz(func(t *testing.T, data []byte, room uint16) {
		for _, ch := range []int{1, 2} {
			dec, err := NewOpusDecoder(ch)
			if err != nil {
				t.Fatal(err)
			}
			pcm := make([]int16, int(room)%(OpusMaxFrameSamples+1)*ch)
			got, err := dec.Decode(data, pcm)
			if err == nil && (got < 0 || got*ch > len(pcm)) {
				t.Fatalf("decoded %d samples per channel into %d", got, len(pcm))
			}
			dec.Close()
		}
	})
}
