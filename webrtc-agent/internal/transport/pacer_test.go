package transport

import (
	"errors"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtp"
)

// TestPassPacer: a packet goes out through its stream's writer, an RTX packet (no stream
// bound for its SSRC) through the first stream's, and nothing before any stream exists.
func TestPassPacer(t *testing.T) {
	p := newPassPacer()
	if _, err := p.Write(&rtp.Header{SSRC: 1}, nil, nil); !errors.Is(err, gcc.ErrUnknownStream) {
		t.Fatalf("write before any stream: %v", err)
	}
	got := map[string][]uint32{}
	writer := func(name string) interceptor.RTPWriter {
		return interceptor.RTPWriterFunc(func(h *rtp.Header, _ []byte, _ interceptor.Attributes) (int, error) {
			got[name] = append(got[name], h.SSRC)
			return 0, nil
		})
	}
	p.AddStream(10, writer("a"))
	p.AddStream(20, writer("b"))
	for _, ssrc := range []uint32{10, 20, 99} {
		if _, err := p.Write(&rtp.Header{SSRC: ssrc}, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(got["a"]) != 2 || got["a"][0] != 10 || got["a"][1] != 99 || len(got["b"]) != 1 || got["b"][0] != 20 {
		t.Fatalf("writes went %v; want 10 and 99 (unbound) through a, 20 through b", got)
	}
}
