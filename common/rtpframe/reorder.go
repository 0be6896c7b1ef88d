package rtpframe

import (
	"time"

	"github.com/pion/rtp"
)

// reorderSize is the number of packets the reorder buffer holds (a power of two, so that
// masking maps negative extended sequence numbers to slots too): about 0.4 s of a 3 Mb/s
// video stream.
const reorderSize = 512

// slot is one buffered packet.
type slot struct {
	pkt     rtp.Packet
	ext     int64
	arrival time.Time
	used    bool
}

// reorder puts packets back in sequence order. A missing packet is waited for until a
// later packet has waited maxDelay or the buffer is full; then it is declared lost.
type reorder struct {
	maxDelay time.Duration
	seq      unwrapper
	slots    [reorderSize]slot
	next     int64 // next extended sequence number to release
	started  bool
	waiting  int  // packets buffered
	gap      bool // packets were skipped without a buffered successor: report a loss
	// restarted is told (with the arrival time of the packet that showed it) when the sender
	// restarted its sequence numbers, after the packets before the restart were released.
	restarted func(at time.Time)
}

// reset forgets every buffered packet and the sequence history.
func (r *reorder) reset() {
	for i := range r.slots {
		r.slots[i].used = false
	}
	r.seq = unwrapper{bits: 16}
	r.next, r.started, r.waiting, r.gap = 0, false, 0, false
}

// resetDistance is how far behind the expected sequence number a packet must be to count
// as a restarted stream rather than a late packet.
const resetDistance = 4 * reorderSize

// at returns the slot of an extended sequence number (negative ones included).
func (r *reorder) at(ext int64) *slot { return &r.slots[ext&(reorderSize-1)] }

// push adds a packet (whose payload it copies) and releases what is now in order through
// out; a gap before a released packet is reported with lost=true first.
func (r *reorder) push(p *rtp.Packet, arrival time.Time, out func(p *rtp.Packet, arrival time.Time, lost bool)) {
	ext := r.seq.extend(uint32(p.SequenceNumber))
	if !r.started {
		r.next, r.started = ext, true
	}
	if r.next-ext > resetDistance { // the sender restarted its sequence: start again
		r.drain(out)
		r.next, r.gap = ext, true
		if r.restarted != nil {
			r.restarted(arrival)
		}
	}
	if ext < r.next || r.at(ext).used && r.at(ext).ext == ext {
		return // too late or duplicate
	}
	for ext >= r.next+reorderSize { // no room: give up on the oldest missing packets
		r.skipTo(r.oldestAfter(r.next), out)
		if r.waiting == 0 {
			r.next, r.gap = ext, true
		}
	}
	s := r.at(ext)
	s.pkt.Header = p.Header
	s.pkt.Header.CSRC = nil
	s.pkt.Header.Extensions = nil
	s.pkt.Payload = append(s.pkt.Payload[:0], p.Payload...)
	s.ext, s.arrival, s.used = ext, arrival, true
	r.waiting++
	r.release(arrival, out)
}

// release emits in-order packets, skipping a gap whose successor has waited too long.
func (r *reorder) release(now time.Time, out func(*rtp.Packet, time.Time, bool)) {
	for r.waiting > 0 {
		if !r.at(r.next).used {
			oldest := r.oldestAfter(r.next)
			if now.Sub(r.at(oldest).arrival) < r.maxDelay {
				return
			}
			r.skipTo(oldest, out)
			continue
		}
		r.emit(false, out)
	}
}

// drain releases every buffered packet, declaring the gaps lost.
func (r *reorder) drain(out func(*rtp.Packet, time.Time, bool)) {
	for r.waiting > 0 {
		r.skipTo(r.oldestAfter(r.next), out)
	}
}

// oldestAfter returns the smallest buffered extended sequence number >= from.
func (r *reorder) oldestAfter(from int64) int64 {
	for e := from; e < from+reorderSize; e++ {
		if s := r.at(e); s.used && s.ext == e {
			return e
		}
	}
	return from
}

// skipTo declares the packets before ext lost and releases ext.
func (r *reorder) skipTo(ext int64, out func(*rtp.Packet, time.Time, bool)) {
	lost := ext > r.next
	r.next = ext
	if r.at(ext).used {
		r.emit(lost, out)
	}
}

func (r *reorder) emit(lost bool, out func(*rtp.Packet, time.Time, bool)) {
	s := r.at(r.next)
	s.used = false
	r.waiting--
	r.next++
	lost, r.gap = lost || r.gap, false
	out(&s.pkt, s.arrival, lost)
}
