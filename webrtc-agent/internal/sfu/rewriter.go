package sfu

// maxGapNanos caps the wall-clock gap turned into a timestamp jump on a switch or resume.
const maxGapNanos = int64(600e9)

// rewriter maps the packets of the sources one subscriber has seen into one continuous
// sequence-number and timestamp space. It starts (and restarts after a resync) only at a
// keyframe, and moves to a pending source only at that source's keyframe, so a decoder never
// sees a reference it lacks. It is not safe for concurrent use.
type rewriter struct {
	clockRate uint32
	src       *Track // current source
	pending   *Track // source to switch to at its next keyframe
	started   bool   // some packet was sent already
	synced    bool   // offsets valid for src; false waits for a keyframe
	seqOff    uint16
	tsOff     uint32
	baseSeq   uint16 // first input sequence number accepted since the last sync
	lastSeq   uint16 // highest output sequence number
	lastTS    uint32 // output timestamp of lastSeq
	lastAt    int64  // wall clock (ns) when lastSeq was sent
}

// rewrite returns the output sequence number and timestamp of p from src at wall time now
// (ns), or false when p must not be forwarded.
func (r *rewriter) rewrite(src *Track, p *Packet, now int64) (uint16, uint32, bool) {
	switch {
	case src == r.pending && src != nil && p.Keyframe:
		r.src, r.pending = src, nil
		r.sync(p, now)
	case src != r.src:
		return 0, 0, false
	case !r.synced:
		if !p.Keyframe {
			return 0, 0, false
		}
		r.sync(p, now)
	case int16(p.Seq-r.baseSeq) < 0: // older than the sync point: belongs to the old mapping
		return 0, 0, false
	}
	seq, ts := p.Seq+r.seqOff, p.Timestamp+r.tsOff
	if int16(seq-r.lastSeq) > 0 {
		r.lastSeq, r.lastTS, r.lastAt = seq, ts, now
	}
	return seq, ts, true
}

// sync maps p to follow the last output packet: the next sequence number, and a timestamp
// advanced by the wall-clock time since then (at least one tick).
func (r *rewriter) sync(p *Packet, now int64) {
	if r.started {
		gap := min(max(now-r.lastAt, 0), maxGapNanos)
		ticks := uint32(gap * int64(r.clockRate) / 1e9)
		ticks = max(ticks, 1)
		r.seqOff = r.lastSeq + 1 - p.Seq
		r.tsOff = r.lastTS + ticks - p.Timestamp
	}
	r.started, r.synced, r.baseSeq = true, true, p.Seq
	r.lastSeq = p.Seq + r.seqOff - 1
	r.lastTS = p.Timestamp + r.tsOff
	r.lastAt = now
}
