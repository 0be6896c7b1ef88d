package sfu

// VP8 temporal layers (RFC 7741 §4.2: TID, Y, TL0PICIDX). Chromium encodes each simulcast
// layer in three temporal layers: base frames (TID 0) refer only to earlier base frames, so
// a subscriber sent only TIDs up to t still decodes every frame it gets, at a quarter (t=0)
// or half (t=1) of the frame rate and roughly 50 % / 70 % of the bit rate. Congestion control
// uses that as finer steps between simulcast layers.
//
// Leaving frames out must leave no trace a receiver would mistake for loss: the packets after
// a left-out frame are numbered down (rewriter.skip), and so are the picture IDs (libwebrtc
// holds back every later frame of the layers below a missing picture ID until it arrives).
// Going down takes effect at the next frame; going up waits for a frame of the higher layer
// marked layer-sync (Y: it refers only to the base layer) or a keyframe.

// AllTemporal is the temporal ceiling that forwards every layer.
const AllTemporal uint8 = 0xFF

// maxTemporalLayers is the number of temporal layers a VP8 descriptor can name (TID: 2 bits).
const maxTemporalLayers = 4

// temporalUpWait is how long a down-track waits for a layer-sync frame to go up a temporal
// layer before it asks for a keyframe.
const temporalUpWait = 1500 * 1e6 // ns

// temporalFilter is a down-track's choice of temporal layers and its picture-ID rewriting.
// Guarded by the down-track's mutex.
type temporalFilter struct {
	max     uint8 // highest layer wanted (AllTemporal: every layer)
	cur     uint8 // highest layer forwarded now: ≤ max; rises at layer-sync frames
	upSince int64 // when (ns) cur fell below max and the wait for a sync frame began (0: none)

	frames [32]frameDecision // recent frames by picture ID % 32: a frame's packets go alike

	pics    offsetLog // picture-ID offsets (output = input + offset)
	started bool      // pics and hiPic are set
	munge   bool      // some offset is not zero: forwarded payloads carry a rewritten picture ID
	hiPic   uint16    // newest input picture ID seen
	lastOut uint16    // output picture ID of the newest frame forwarded
	dropped uint64    // frames left out
}

type frameDecision struct {
	pid     uint16
	valid   bool
	forward bool
}

// setMax sets the highest temporal layer to forward (AllTemporal: all).
func (f *temporalFilter) setMax(max uint8, now int64) {
	if max == f.max {
		return
	}
	f.max = max
	switch {
	case f.cur > max:
		f.cur = max // at the next frame
		f.upSince = 0
	case f.cur < max && f.upSince == 0:
		f.upSince = now
	}
}

// sync restarts at a keyframe p that (re)starts the down-track's numbering: every layer up to
// max is decodable from here. The picture IDs continue from the last forwarded one when they
// were being rewritten (a subscriber's decoder does not see them jump back), and are passed
// through unchanged otherwise.
func (f *temporalFilter) sync(p *Packet) {
	f.cur, f.upSince = f.max, 0
	if !p.HasPicID {
		f.started, f.munge = false, false
		return
	}
	var off uint16
	if f.started && f.munge {
		off = f.lastOut + 1 - p.PicID
	}
	f.pics.reset(p.PicBits, p.PicID, off)
	f.munge = f.pics.mask(off) != 0
	f.started, f.hiPic, f.lastOut = true, p.PicID, f.pics.mask(p.PicID+off)
	f.frames = [32]frameDecision{}
	f.record(p.PicID, true)
}

// admit reports whether packet p (VP8 with TID and picture ID, of the synced current source)
// is forwarded. A frame's first packet decides for the whole frame; a decision to leave a
// frame out shifts the picture IDs after it.
func (f *temporalFilter) admit(p *Packet, now int64) bool {
	if !f.started {
		f.pics.reset(p.PicBits, p.PicID, 0)
		f.started, f.hiPic, f.lastOut = true, p.PicID, p.PicID
	}
	d := &f.frames[p.PicID%32]
	if d.valid && d.pid == p.PicID {
		return d.forward
	}
	newer := f.pics.before(f.hiPic, p.PicID)
	if !newer {
		// A frame first seen after a later one: its picture ID's place in the output is
		// taken either way, and leaving it out now would leave a gap. It is forwarded.
		f.record(p.PicID, true)
		return true
	}
	f.hiPic = p.PicID
	switch {
	case p.Keyframe:
		f.cur, f.upSince = f.max, 0
	case f.cur > f.max:
		f.cur = f.max
	case p.TID > f.cur && p.TID <= f.max && p.LayerSync:
		f.cur = p.TID
		if f.cur == f.max {
			f.upSince = 0
		}
	}
	forward := p.TID <= f.cur
	if !forward {
		f.pics.push(f.pics.mask(p.PicID+1), f.pics.current()-1)
		f.munge = true
		f.dropped++
	}
	f.record(p.PicID, forward)
	return forward
}

// waitingUp reports whether the filter has waited for a layer-sync frame longer than
// temporalUpWait: a keyframe serves instead.
func (f *temporalFilter) waitingUp(now int64) bool {
	return f.upSince != 0 && f.cur < f.max && now-f.upSince > temporalUpWait
}

func (f *temporalFilter) record(pid uint16, forward bool) {
	f.frames[pid%32] = frameDecision{pid: pid, valid: true, forward: forward}
}

// outPic returns the output picture ID of input pid and notes it as the newest forwarded
// when it is; ok is false when pid is older than the offsets remembered.
func (f *temporalFilter) outPic(pid uint16) (uint16, bool) {
	off, ok := f.pics.at(pid)
	if !ok {
		return 0, false
	}
	out := f.pics.mask(pid + off)
	if !f.pics.before(out, f.lastOut) {
		f.lastOut = out
	}
	return out, true
}

// writePictureID writes a VP8 picture ID of bits (7 or 15) into payload, whose descriptor
// has one at offset 2 (X and I set).
func writePictureID(payload []byte, pid uint16, bits uint8) {
	if bits == 15 {
		payload[2] = 0x80 | byte(pid>>8)&0x7F
		payload[3] = byte(pid)
		return
	}
	payload[2] = byte(pid) & 0x7F
}
