package rtpx

import "encoding/binary"

// Rewriter gives packets from successive producers (an ffmpeg restarted after a failure,
// each run with its own random sequence and timestamp bases) one SSRC and continuous
// sequence numbers and timestamps, so importers see one stream with a gap instead of a new
// source. It is not safe for concurrent use.
type Rewriter struct {
	ssrc     uint32
	step     uint32 // timestamp advance assumed across a restart (one frame)
	fresh    bool   // the next packet starts a new producer epoch
	seqOff   uint16
	tsOff    uint32
	lastSeq  uint16
	lastTS   uint32
	haveLast bool
}

// NewRewriter returns a rewriter stamping ssrc; step is the timestamp distance to leave
// between epochs (e.g. 3000 for 30 fps video at 90 kHz, 960 for 20 ms Opus).
func NewRewriter(ssrc, step uint32) *Rewriter {
	return &Rewriter{ssrc: ssrc, step: step, fresh: true}
}

// NewEpoch marks that the next packet comes from a new producer.
func (r *Rewriter) NewEpoch() { r.fresh = true }

// Rewrite rewrites p's SSRC, sequence number and timestamp in place. The first packet of
// an epoch continues two sequence numbers after the last one, so receivers notice the
// loss and wait for a keyframe.
func (r *Rewriter) Rewrite(p []byte) {
	seq, ts := Seq(p), Timestamp(p)
	if r.fresh {
		r.fresh = false
		if r.haveLast {
			r.seqOff = r.lastSeq + 2 - seq
			r.tsOff = r.lastTS + r.step - ts
		} else {
			r.seqOff, r.tsOff = 0, 0
		}
	}
	outSeq, outTS := seq+r.seqOff, ts+r.tsOff
	binary.BigEndian.PutUint16(p[2:4], outSeq)
	binary.BigEndian.PutUint32(p[4:8], outTS)
	binary.BigEndian.PutUint32(p[8:12], r.ssrc)
	if !r.haveLast || int16(outSeq-r.lastSeq) > 0 {
		r.lastSeq, r.lastTS, r.haveLast = outSeq, outTS, true
	}
}
