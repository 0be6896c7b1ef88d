package sfu

// offsetLogSize is the number of offset changes an offsetLog remembers: an input older than
// the oldest one it remembers is refused.
const offsetLogSize = 16

// offsetLog maps a wrapping input numbering (RTP sequence numbers, VP8 picture IDs) to an
// output numbering by offsets that change as the input goes on: a down-track that leaves
// packets out (temporal layers it does not forward) or adds some (padding probes) shifts
// everything after that point. A packet that arrives late (reordered, or a publisher's
// retransmission) is mapped with the offset in force at its own position, not the current
// one, so it takes the output number left free for it instead of one already used.
type offsetLog struct {
	bits uint8 // width of the numbering (16, 15 or 7)
	n    int   // entries held (at most offsetLogSize)
	head int   // index of the newest entry
	ents [offsetLogSize]offsetEntry
}

// offsetEntry: from input number from on, output = input + off (mod 2^bits).
type offsetEntry struct{ from, off uint16 }

// reset forgets every change: from input from on (and nothing before it), the offset is off.
func (l *offsetLog) reset(bits uint8, from, off uint16) {
	l.bits, l.n, l.head = bits, 1, 0
	l.ents[0] = offsetEntry{from: from, off: off}
}

// before reports whether a precedes b in the wrapping numbering (serial number arithmetic).
func (l *offsetLog) before(a, b uint16) bool {
	return int16((a-b)<<(16-l.bits)) < 0
}

// current returns the newest offset (0 when empty).
func (l *offsetLog) current() uint16 {
	if l.n == 0 {
		return 0
	}
	return l.ents[l.head].off
}

// push makes off the offset from input from on. from must not precede the newest entry's.
func (l *offsetLog) push(from, off uint16) {
	if l.n > 0 {
		newest := &l.ents[l.head]
		if newest.from == from {
			newest.off = off
			return
		}
		if newest.off == off {
			return
		}
	}
	l.head = (l.head + 1) % offsetLogSize
	l.ents[l.head] = offsetEntry{from: from, off: off}
	l.n = min(l.n+1, offsetLogSize)
}

// at returns the offset in force at input v; ok is false when v precedes every entry.
func (l *offsetLog) at(v uint16) (off uint16, ok bool) {
	for i := range l.n {
		e := &l.ents[(l.head-i+offsetLogSize)%offsetLogSize]
		if !l.before(v, e.from) {
			return e.off, true
		}
	}
	return 0, false
}

// mask returns v reduced to the numbering's width.
func (l *offsetLog) mask(v uint16) uint16 {
	if l.bits >= 16 {
		return v
	}
	return v & (1<<l.bits - 1)
}
