package rtpframe

import "testing"

func TestRTPFrameKeyframeStart(t *testing.T) {
	tests := []struct {
		name  string
		codec Codec
		b     []byte
		want  bool
	}{
		{"vp8 key", VP8, []byte{0x10, 0x00}, true},
		{"vp8 inter", VP8, []byte{0x10, 0x01}, false},
		{"vp8 continuation", VP8, []byte{0x00, 0x00}, false},
		{"vp8 second partition", VP8, []byte{0x11, 0x00}, false},
		{"vp8 key with 15-bit picture id", VP8, []byte{0x90, 0x80, 0x81, 0x02, 0x00}, true},
		{"vp8 key with picture id, tl0, tid", VP8, []byte{0x90, 0xE0, 0x81, 0x02, 7, 0x40, 0x50}, true},
		{"vp8 truncated extension", VP8, []byte{0x90}, false},
		{"vp8 truncated picture id", VP8, []byte{0x90, 0x80, 0x81}, false},
		{"vp8 empty (padding)", VP8, nil, false},
		{"vp9 key start", VP9, []byte{0x08}, true},
		{"vp9 predicted", VP9, []byte{0x48}, false},
		{"vp9 key in spatial layer 1", VP9, []byte{0x28, 0x02, 0}, false},
		{"h264 idr", H264, []byte{0x65, 0x88}, true},
		{"h264 sps", H264, []byte{0x67, 0x42}, true},
		{"h264 non-idr", H264, []byte{0x41, 0x9a}, false},
		{"h264 stap-a sps+pps", H264, []byte{0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce}, true},
		{"h264 stap-a truncated", H264, []byte{0x78, 0, 9, 0x67}, true},
		{"h264 stap-a zero size", H264, []byte{0x78, 0, 0, 0x67}, false},
		{"h264 fu-a idr start", H264, []byte{0x7C, 0x85}, true},
		{"h264 fu-a idr middle", H264, []byte{0x7C, 0x05}, false},
		{"h264 empty", H264, nil, false},
		{"opus", Opus, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := KeyframeStart(tc.codec, tc.b); got != tc.want {
				t.Fatalf("KeyframeStart = %v, want %v", got, tc.want)
			}
		})
	}
	for mime, want := range map[string]bool{"video/VP8": true, "video/h264": true, "audio/PCMU": true, "audio/opus": true, "video/AV1": false} {
		if got := KeyframeDetector(mime) != nil; got != want {
			t.Fatalf("KeyframeDetector(%q) != nil is %v", mime, got)
		}
	}
	if !KeyframeDetector("audio/PCMA")(nil) || KeyframeDetector("video/VP8")([]byte{0x10, 0x01}) {
		t.Fatal("KeyframeDetector results")
	}
}

func TestRTPFrameDescribe(t *testing.T) {
	d, ok := Describe(VP8, []byte{0xB0, 0xE0, 0x81, 0x02, 7, 0xA0, 0x01})
	want := Descriptor{Start: true, NonReference: true, HasPictureID: true, PictureID: 0x102, PictureBits: 15,
		HasTL0: true, TL0PicIdx: 7, HasTID: true, TID: 2, LayerSync: true}
	if !ok || d != want {
		t.Fatalf("VP8: %+v, want %+v", d, want)
	}
	d, ok = Describe(VP8, []byte{0x90, 0x80, 0x05, 0x00})
	if !ok || !d.Key || d.PictureBits != 7 || d.PictureID != 5 {
		t.Fatalf("VP8 7-bit picture id: %+v", d)
	}
	d, ok = Describe(VP9, []byte{0xA8, 0x80, 0x10, 0x41, 3})
	want = Descriptor{Start: true, Key: true, HasPictureID: true, PictureID: 0x10, PictureBits: 15, HasTID: true, TID: 2, HasTL0: true, TL0PicIdx: 3}
	if !ok || d != want {
		t.Fatalf("VP9: %+v, want %+v", d, want)
	}
	if _, ok := Describe(VP9, []byte{0xA8, 0x80}); ok {
		t.Fatal("truncated VP9 descriptor accepted")
	}
	if d, ok := Describe(H264, []byte{0x7C, 0x05}); !ok || d.Start {
		t.Fatalf("H.264 FU-A continuation: %+v", d)
	}
}

// FuzzDescriptor checks the descriptor parsers never read out of bounds and agree with
// KeyframeStart.
func FuzzDescriptor(f *testing.F) {
	f.Add([]byte{0x78, 0, 2, 0x67, 0x42}, byte(2))
	f.Add([]byte{0x90, 0xff, 0x81, 0x23, 0, 0, 0x50}, byte(0))
	f.Add([]byte{0xAF, 0x80, 0x10, 0x41, 3}, byte(1))
	f.Fuzz(func(t *testing.T, b []byte, which byte) {
		c := Codec(int(which)%3 + 1)
		d, ok := Describe(c, b)
		if KeyframeStart(c, b) != (ok && d.Key) {
			t.Fatalf("KeyframeStart disagrees with Describe: %+v", d)
		}
		if d.HasPictureID && d.PictureID >= 1<<d.PictureBits {
			t.Fatalf("picture id %d wider than %d bits", d.PictureID, d.PictureBits)
		}
		if w, h, ok := KeyframeSize(c, b); ok && (w <= 0 || h <= 0) {
			t.Fatalf("KeyframeSize %dx%d", w, h)
		}
	})
}

func TestRTPFrameKeyframeSize(t *testing.T) {
	vp8 := clip(t, "video/VP8")[0].Data
	h264 := clip(t, "video/H264")[0].Data
	sps := SplitAnnexB(h264)[0]
	stap := append([]byte{0x78, byte(len(sps) >> 8), byte(len(sps))}, sps...)
	tests := []struct {
		name    string
		codec   Codec
		payload []byte
		w, h    int
		ok      bool
	}{
		{"vp8 plain descriptor", VP8, append([]byte{0x10}, vp8...), 320, 240, true},
		{"vp8 picture id, tl0, tid", VP8, append([]byte{0x90, 0xE0, 0x81, 0x02, 7, 0x40}, vp8...), 320, 240, true},
		{"vp8 7-bit picture id", VP8, append([]byte{0x90, 0x80, 0x05}, vp8...), 320, 240, true},
		{"vp8 delta", VP8, []byte{0x10, 0x01, 0, 0}, 0, 0, false},
		{"vp8 truncated header", VP8, append([]byte{0x10}, vp8[:6]...), 0, 0, false},
		{"h264 sps", H264, sps, 320, 240, true},
		{"h264 stap-a", H264, stap, 320, 240, true},
		{"h264 idr slice", H264, []byte{0x65, 0x88}, 0, 0, false},
		{"vp9 scalability structure", VP9, []byte{0x8A, 0x80, 0x01, 0x18, 0x02, 0x80, 0x01, 0x68, 0x00}, 640, 360, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, h, ok := KeyframeSize(tc.codec, tc.payload)
			if w != tc.w || h != tc.h || ok != tc.ok {
				t.Fatalf("KeyframeSize = %dx%d %v, want %dx%d %v", w, h, ok, tc.w, tc.h, tc.ok)
			}
		})
	}
}
