package sfu

import (
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// Retransmission (RFC 4585 generic NACK) is answered from one copy of each packet per
// source track, shared by all its subscribers: a down-track remembers only which source
// packet it sent under each of its own sequence numbers. A per-subscriber copy of every
// packet (pion's NACK responder) was most of a subscription's memory and a copy per packet
// per subscriber on the forwarding path.

// DefaultHistory is the number of packets a video track keeps for retransmission: about
// 0.5 s of 8 Mb/s video or several seconds at usual bitrates, beyond any useful NACK delay.
const DefaultHistory = 512

// sentHistory is the number of sequence numbers a down-track remembers (a power of two).
const sentHistory = 256

// maxNACKsPerReport bounds the packets retransmitted for one RTCP compound packet, and
// maxResends the retransmissions of one packet, so a hostile or broken receiver cannot make
// the server amplify its traffic.
const (
	maxNACKsPerReport = 64
	maxResends        = 2
)

// history is a ring of a source track's recent packets, indexed by sequence number. The
// forwarding goroutine writes it; subscribers' RTCP goroutines read it.
type history struct {
	mu    sync.Mutex
	slots []histSlot
	mask  uint16
}

type histSlot struct {
	valid   bool
	seq     uint16
	marker  bool
	payload []byte
}

// newHistory returns a ring of size packets (rounded up to a power of two, at most 32768).
func newHistory(size int) *history {
	n := 1
	for n < size && n < 1<<15 {
		n <<= 1
	}
	return &history{slots: make([]histSlot, n), mask: uint16(n - 1)}
}

// put stores a copy of p's payload under its sequence number.
func (h *history) put(p *Packet) {
	h.mu.Lock()
	s := &h.slots[p.Seq&h.mask]
	s.valid, s.seq, s.marker = true, p.Seq, p.Marker
	s.payload = append(s.payload[:0], p.Payload...)
	h.mu.Unlock()
}

// get copies the payload of packet seq into dst (grown if needed) and reports its marker bit;
// ok is false when the packet is no longer (or never was) in the ring.
func (h *history) get(seq uint16, dst []byte) (out []byte, marker, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &h.slots[seq&h.mask]
	if !s.valid || s.seq != seq {
		return dst, false, false
	}
	return append(dst[:0], s.payload...), s.marker, true
}

// sentEntry maps one outgoing sequence number of a down-track to the source packet.
type sentEntry struct {
	src     *Track
	srcSeq  uint16
	outSeq  uint16
	ts      uint32
	valid   bool
	resends uint8
	picBits uint8 // the payload's VP8 picture ID was rewritten to pic (0: sent unchanged)
	pic     uint16
}

// retransmitter is a down-track's record of what it sent, for NACKs. Guarded by the
// down-track's mutex.
type retransmitter struct {
	sent *[sentHistory]sentEntry // allocated with the first video packet sent
	buf  []byte                  // payload scratch, allocated on the first NACK
	hdr  rtp.Header              // retransmission header scratch

	resent, missed atomic.Uint64
}

// entry returns the record of outgoing seq, nil when nothing was recorded.
func (r *retransmitter) entry(seq uint16) *sentEntry {
	if r.sent == nil {
		return nil
	}
	if e := &r.sent[seq%sentHistory]; e.valid && e.outSeq == seq {
		return e
	}
	return nil
}

// note records that out was sent for source packet srcSeq of src.
func (r *retransmitter) note(src *Track, srcSeq, out uint16, ts uint32, pic uint16, picBits uint8) {
	if r.sent == nil {
		r.sent = new([sentHistory]sentEntry)
	}
	r.sent[out%sentHistory] = sentEntry{src: src, srcSeq: srcSeq, outSeq: out, ts: ts, valid: true,
		pic: pic, picBits: picBits}
}

// nackedSeqs calls f for each sequence number a report's generic NACKs ask for, at most
// maxNACKsPerReport in all.
func nackedSeqs(pkts []rtcp.Packet, f func(seq uint16)) {
	n := 0
	for _, p := range pkts {
		nack, ok := p.(*rtcp.TransportLayerNack)
		if !ok {
			continue
		}
		for _, pair := range nack.Nacks {
			for _, seq := range pair.PacketList() {
				if n == maxNACKsPerReport {
					return
				}
				n++
				f(seq)
			}
		}
	}
}
