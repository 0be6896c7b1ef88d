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

// FuzzRTPHeader checks the header accessors and the rewriter on arbitrary packets.
func FuzzRTPHeader(f *testing.F) {
	f.Add([]byte{0x78, 0, 2, 0x67, 0x42})
	f.Add([]byte{0x90, 0xff, 0x81, 0x23, 0, 0, 0x50})
	f.Add([]byte{0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0x7c, 0x85})
	f.Fuzz(func(t *testing.T, b []byte) {
		if Valid(b) {
			_ = Payload(b)
			_, _ = Seq(b), Timestamp(b)
			NewRewriter(1, 1).Rewrite(b)
		}
	})
}
