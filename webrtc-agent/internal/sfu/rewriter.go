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
	// justSynced: the packet rewrite last mapped (re)started the numbering (a keyframe).
	justSynced bool
	seqOff     uint16    // offset of the newest input (seqs.current())
	seqs       offsetLog // sequence-number offsets since the last sync
	tsOff      uint32
	hiSeq      uint16 // highest input sequence number seen since the last sync (sent or left out)
	lastSeq    uint16 // highest output sequence number
	lastTS     uint32 // output timestamp of lastSeq
	lastAt     int64  // wall clock (ns) when lastSeq was sent
	// seen holds the input sequence numbers recently sent or left out, by seq%len, each plus
	// one (0: empty), with seenSkipped set when left out: a late packet is padded over only
	// when its number was never used, and a packet reusing the number of one left out is not
	// sent (its place in the output is gone: a broken or hostile publisher's duplicate).
	seen [256]uint32
	// shifted: since the last sync, some packet was left out, padded over or padding was
	// inserted, so a late packet's place may be taken: only those within seen's window are
	// sent (for the others nothing tells whether their place is free).
	shifted bool
}

// rewrite returns the output sequence number and timestamp of p from src at wall time now
// (ns), or false when p must not be forwarded.
func (r *rewriter) rewrite(src *Track, p *Packet, now int64) (uint16, uint32, bool) {
	r.justSynced = false
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
	}
	off, ok := r.seqs.at(p.Seq)
	if !ok { // older than the sync point (it belongs to the old mapping) or than the log
		return 0, 0, false
	}
	if int16(p.Seq-r.hiSeq) > 0 {
		r.hiSeq = p.Seq
	}
	slot := &r.seen[int(p.Seq)%len(r.seen)]
	if *slot == uint32(p.Seq)+1|seenSkipped || r.shifted && int16(p.Seq-r.hiSeq) < 0 && int(r.hiSeq-p.Seq) >= len(r.seen) {
		return 0, 0, false
	}
	*slot = uint32(p.Seq) + 1
	seq, ts := p.Seq+off, p.Timestamp+r.tsOff
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
	r.started, r.synced, r.hiSeq, r.justSynced = true, true, p.Seq, true
	r.seqs.reset(16, p.Seq, r.seqOff)
	r.shifted, r.seen = false, [len(r.seen)]uint32{} // numbers of another source, or of before the gap
	r.lastSeq = p.Seq + r.seqOff - 1
	r.lastTS = p.Timestamp + r.tsOff
	r.lastAt = now
}

// seenSkipped marks an entry of rewriter.seen whose packet was left out.
const seenSkipped = 1 << 20

// skip leaves input seq out of the output numbering (a packet of a temporal layer that is not
// forwarded): the packets after it are numbered one lower, so the receiver sees no gap. A
// packet that arrives after a later one was numbered can no longer be taken out: skip then
// returns its output number (late true), which the caller fills with padding, for the
// receiver would otherwise ask for it in vain. The rewriter must be synced to the source.
func (r *rewriter) skip(seq uint16) (fill uint16, late bool) {
	slot := &r.seen[int(seq)%len(r.seen)]
	if int16(seq-r.hiSeq) <= 0 {
		off, ok := r.seqs.at(seq)
		if !ok || int(r.hiSeq-seq) >= len(r.seen) || *slot&^seenSkipped == uint32(seq)+1 {
			return 0, false // too old to tell, or seen already (sent or left out)
		}
		*slot = uint32(seq) + 1 | seenSkipped
		r.shifted = true
		return seq + off, true
	}
	*slot = uint32(seq) + 1 | seenSkipped
	r.shifted = true
	r.hiSeq = seq
	r.seqOff--
	r.seqs.push(seq+1, r.seqOff)
	return 0, false
}

// pad moves the numbering of later input packets up by n: the n output numbers after lastSeq
// carry padding.
func (r *rewriter) pad(n uint16) {
	r.shifted = true
	r.seqOff += n
	r.seqs.push(r.hiSeq+1, r.seqOff)
}
