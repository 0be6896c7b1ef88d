package transport

import (
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtp"
)

// passPacer is the GCC estimator's pacer (gcc.Pacer): it sends every packet at once, as
// pion's NoOpPacer does (the allocator keeps the rate within the estimate by choosing
// layers), but also packets of an SSRC no stream was bound for: pion binds no interceptor
// stream for a sender's RTX SSRC, and NoOpPacer refused the down-tracks' RTX
// retransmissions ("unknown ssrc"). Such a packet goes out through the writer of another
// stream of the same PeerConnection: every stream's writer ends in the one SRTP session,
// which encrypts by the packet's own SSRC.
type passPacer struct {
	mu       sync.Mutex
	writers  map[uint32]interceptor.RTPWriter
	fallback interceptor.RTPWriter // the first stream's writer
}

var _ gcc.Pacer = (*passPacer)(nil)

func newPassPacer() *passPacer { return &passPacer{writers: map[uint32]interceptor.RTPWriter{}} }

// AddStream implements gcc.Pacer.
func (p *passPacer) AddStream(ssrc uint32, w interceptor.RTPWriter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writers[ssrc] = w
	if p.fallback == nil {
		p.fallback = w
	}
}

// Write implements gcc.Pacer.
func (p *passPacer) Write(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	p.mu.Lock()
	w, ok := p.writers[h.SSRC]
	if !ok {
		w = p.fallback
	}
	p.mu.Unlock()
	if w == nil {
		return 0, gcc.ErrUnknownStream
	}
	return w.Write(h, payload, a)
}

// SetTargetBitrate implements gcc.Pacer (nothing is paced).
func (p *passPacer) SetTargetBitrate(int) {}

// Close implements gcc.Pacer.
func (p *passPacer) Close() error { return nil }
