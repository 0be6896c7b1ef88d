package rtpx

import (
	"encoding/binary"
	"testing"
)

func packet(seq uint16, ts uint32, payload ...byte) []byte {
	p := make([]byte, 12, 12+len(payload))
	p[0], p[1] = 0x80, 100
	binary.BigEndian.PutUint16(p[2:], seq)
	binary.BigEndian.PutUint32(p[4:], ts)
	return append(p, payload...)
}

func TestRTPKeyframeDetection(t *testing.T) {
	tests := []struct {
		name    string
		detect  func([]byte) bool
		payload []byte
		want    bool
	}{
		{"h264 idr", IsH264KeyframeStart, []byte{0x65, 0x88}, true},
		{"h264 sps", IsH264KeyframeStart, []byte{0x67, 0x42}, true},
		{"h264 p slice", IsH264KeyframeStart, []byte{0x41, 0x9a}, false},
		{"h264 stap-a sps+pps", IsH264KeyframeStart, []byte{0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce}, true},
		{"h264 stap-a truncated", IsH264KeyframeStart, []byte{0x78, 0, 9, 0x67}, false},
		{"h264 fu-a idr start", IsH264KeyframeStart, []byte{0x7c, 0x85, 0}, true},
		{"h264 fu-a idr middle", IsH264KeyframeStart, []byte{0x7c, 0x05, 0}, false},
		{"h264 empty", IsH264KeyframeStart, nil, false},
		{"vp8 key", IsVP8KeyframeStart, []byte{0x10, 0x50}, true},
		{"vp8 delta", IsVP8KeyframeStart, []byte{0x10, 0x51}, false},
		{"vp8 not start", IsVP8KeyframeStart, []byte{0x00, 0x50}, false},
		{"vp8 key with 15-bit picture id", IsVP8KeyframeStart, []byte{0x90, 0x80, 0x81, 0x23, 0x50}, true},
		{"vp8 extension truncated", IsVP8KeyframeStart, []byte{0x90, 0x80}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.detect(tc.payload); got != tc.want {
				t.Fatalf("got %v", got)
			}
		})
	}
	if KeyframeDetector("video/H264") == nil || KeyframeDetector("video/vp8") == nil || KeyframeDetector("audio/opus") != nil {
		t.Fatal("KeyframeDetector mapping")
	}
}

func TestRTPHeader(t *testing.T) {
	p := packet(7, 9, 1, 2)
	p[0] |= 0x10 | 1 // one CSRC and an extension of one word
	p = append(p[:12], append([]byte{0, 0, 0, 0, 0xbe, 0xde, 0, 1, 0, 0, 0, 0}, 0x65)...)
	if !Valid(p) || len(Payload(p)) != 1 || Payload(p)[0] != 0x65 {
		t.Fatalf("payload = %v", Payload(p))
	}
	SetPayloadType(p, 96)
	if p[1] != 96 || Marker(p) {
		t.Fatal("payload type")
	}
	if Valid([]byte{0x80, 1}) || Payload([]byte{0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) != nil {
		t.Fatal("malformed accepted")
	}
}

func TestRTPRewriterContinuesAcrossEpochs(t *testing.T) {
	r := NewRewriter(0xabcd, 3000)
	var out [][]byte
	for i := range 3 {
		p := packet(uint16(100+i), uint32(1000+3000*i))
		r.Rewrite(p)
		out = append(out, p)
	}
	r.NewEpoch()
	p := packet(60000, 5)
	r.Rewrite(p)
	out = append(out, p)
	seqs := []uint16{100, 101, 102, 104}
	tss := []uint32{1000, 4000, 7000, 10000}
	for i, p := range out {
		if Seq(p) != seqs[i] || Timestamp(p) != tss[i] || binary.BigEndian.Uint32(p[8:]) != 0xabcd {
			t.Fatalf("packet %d: seq %d ts %d", i, Seq(p), Timestamp(p))
		}
	}
}

func FuzzRTPKeyframe(f *testing.F) {
	f.Add([]byte{0x78, 0, 2, 0x67, 0x42})
	f.Add([]byte{0x90, 0xff, 0x81, 0x23, 0, 0, 0x50})
	f.Add([]byte{0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0x7c, 0x85})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = IsH264KeyframeStart(b)
		_ = IsVP8KeyframeStart(b)
		if Valid(b) {
			_ = Payload(b)
			_, _ = Seq(b), Timestamp(b)
			NewRewriter(1, 1).Rewrite(b)
		}
	})
}
