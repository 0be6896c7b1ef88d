package rtpframe

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// FuzzDepacketizer feeds arbitrary packets (as found on a media link) to every codec path.
func FuzzDepacketizer(f *testing.F) {
	f.Add([]byte{0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x90, 0x80, 0x00, 0x9d, 0x01, 0x2a}, byte(0))
	f.Add([]byte{0x80, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1, 0x7c, 0x85, 0x88}, byte(2))
	f.Add([]byte{0x80, 0xE0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0x18, 0, 2, 0x67, 0x42, 0, 1, 0x68}, byte(2))
	f.Add([]byte{0x80, 0xE0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0x8C, 0x00, 0x82, 0x49, 0x83, 0x42}, byte(1))
	f.Fuzz(func(t *testing.T, data []byte, which byte) {
		codec := Codec(int(which)%4 + 1)
		d := New(codec, Options{MaxDelay: 10 * time.Millisecond})
		at := time.Unix(0, 0)
		// Split data into packets of varying size.
		for len(data) > 0 {
			n := min(len(data), 12+int(data[0]%64))
			var p rtp.Packet
			if p.Unmarshal(data[:n]) == nil {
				d.Push(&p, at, func(Frame) {})
			}
			data = data[n:]
			at = at.Add(7 * time.Millisecond)
		}
		d.Drain(func(Frame) {})
	})
}

// FuzzSPS checks the SPS parser and the Annex-B conversion never panic on arbitrary input.
func FuzzSPS(f *testing.F) {
	f.Add([]byte{0x67, 0x42, 0xC0, 0x0D, 0xDA, 0x05, 0x07, 0xEC, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40})
	f.Add([]byte{0x67, 0x64, 0x00, 0x1F, 0xAC, 0xD9, 0x40, 0x50, 0x05, 0xBB, 0x01, 0x10})
	f.Add([]byte{0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0xCE, 0, 0, 1, 0x65, 0x88})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = SPSDimensions(b)
		au := ToAVCC(b)
		if au.SPS != nil && au.PPS != nil {
			_, _ = AVCDecoderConfig(au.SPS, au.PPS)
		}
		_ = vp9Key(b)
		_, _, _ = VP8Dimensions(b)
	})
}
