package rtpframe

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// DefaultMaxDelay is how long a packet waits for a missing predecessor: time for reordering
// and for a NACK to bring the packet back (the SFU asks the publisher for it).
const DefaultMaxDelay = 200 * time.Millisecond

// MaxTimestampJump is the largest disagreement between how far a source's RTP clock moved
// and how much time passed between two of its frames before the second one is marked as a
// discontinuity (the source restarted its clock).
const MaxTimestampJump = 3 * time.Second

// Frame is one complete encoded frame.
type Frame struct {
	// Data is the frame: the codec payload (VP8, VP9, Opus) or, for H.264, the access unit
	// in AVCC form. It is valid only during the callback.
	Data []byte
	// Timestamp is the frame's RTP timestamp extended to 64 bits.
	Timestamp int64
	// Key marks a frame decodable on its own (always true for audio).
	Key bool
	// Arrival is when the frame's first packet arrived.
	Arrival time.Time
	// Width and Height are the picture size read from a video keyframe (0 = unknown).
	Width, Height int
	// SPS and PPS are the parameter sets an H.264 frame carried (nil otherwise).
	SPS, PPS []byte
	// Discontinuity marks the first frame after the source changed (new SSRC, restarted
	// sequence numbers, or a timestamp jump): its Timestamp does not continue the previous
	// frames' timeline.
	Discontinuity bool
}

// Stats counts what a Depacketizer did.
type Stats struct {
	Packets       uint64        // packets pushed
	Padding       uint64        // packets without media (bandwidth probes), skipped
	Frames        uint64        // frames emitted
	Gaps          uint64        // sequence gaps (packets declared lost)
	Dropped       uint64        // frames dropped: incomplete, or undecodable after a loss
	KeyWaits      uint64        // waits for a keyframe begun (the first one included)
	KeyRequests   uint64        // keyframe requests made
	Stalls        uint64        // stall reports (waits longer than Options.StallAfter)
	LongestWait   time.Duration // longest finished wait for a keyframe
	SourceChanges uint64        // new SSRCs, restarted sequences and timestamp jumps
}

// Options configure a Depacketizer; zero values take the defaults.
type Options struct {
	// MaxDelay is how long a missing packet is waited for before it is declared lost
	// (default DefaultMaxDelay).
	MaxDelay time.Duration
	// Keyframe asks the source for a keyframe (nil: nobody to ask).
	Keyframe func()
	// RetryMin and RetryMax bound the back-off of repeated requests while a keyframe is
	// awaited (defaults DefaultRetryMin, DefaultRetryMax).
	RetryMin, RetryMax time.Duration
	// Stalled is told when a wait for a keyframe has lasted StallAfter, every StallRepeat
	// after that, and when such a wait ends (defaults DefaultStallAfter,
	// DefaultStallRepeat). It runs in Push's goroutine.
	Stalled                 func(Stall)
	StallAfter, StallRepeat time.Duration
	// RTXPayloadType is the payload type of the source's retransmission stream (RFC 4588)
	// when its packets arrive here too; 0 if none.
	RTXPayloadType uint8
}

func (o *Options) defaults() {
	if o.MaxDelay <= 0 {
		o.MaxDelay = DefaultMaxDelay
	}
	if o.Keyframe == nil {
		o.Keyframe = func() {}
	}
	if o.RetryMin <= 0 {
		o.RetryMin = DefaultRetryMin
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(DefaultRetryMax, o.RetryMin)
	}
	if o.StallAfter <= 0 {
		o.StallAfter = DefaultStallAfter
	}
	if o.StallRepeat <= 0 {
		o.StallRepeat = DefaultStallRepeat
	}
}

// Depacketizer assembles one source's frames. It is not safe for concurrent use.
//
// Packets are put back in order (reorder.go); a packet without media is skipped; a frame is
// complete at its marker bit, or when the next frame begins with no packet missing. A video
// frame is emitted only when it is decodable: a keyframe, or a frame whose references all
// arrived (continuity.go). Otherwise frames are dropped and keyframes requested, again and
// again with back-off, until one arrives (recovery.go).
type Depacketizer struct {
	codec   Codec
	opt     Options
	reorder reorder
	ts      unwrapper
	stats   Stats
	cont    continuity
	rec     recovery
	h264p   *h264Params

	now      time.Time // arrival of the packet being pushed (released ones may be older)
	ssrc     uint32
	haveSSRC bool
	disc     bool // the next emitted frame starts a new timeline
	lastTS   int64
	lastAt   time.Time
	haveLast bool

	// Frame in progress.
	cur      []byte
	curTS    int64
	arrival  time.Time
	active   bool // a frame is in progress
	broken   bool // the frame in progress lost a packet or missed its start
	first    Descriptor
	known    bool // first describes the frame (its first packet arrived)
	h264     codecs.H264Packet
	vp9Width int
	vp9High  int
}

// New returns a depacketizer for codec.
func New(codec Codec, opt Options) *Depacketizer {
	opt.defaults()
	d := &Depacketizer{codec: codec, opt: opt}
	d.rec.opt = &d.opt
	d.reorder.maxDelay = opt.MaxDelay
	d.reorder.restarted = d.newTimeline
	d.reset()
	if codec == H264 {
		d.h264p = &h264Params{}
	}
	return d
}

// reset forgets the sequence and timestamp history (a new source).
func (d *Depacketizer) reset() {
	d.reorder.reset()
	d.ts = unwrapper{bits: 32}
	d.active, d.haveLast = false, false
}

// Stats returns the counters.
func (d *Depacketizer) Stats() Stats { return d.stats }

// Waiting returns how long the depacketizer has been waiting for a keyframe at now (0 when
// frames flow).
func (d *Depacketizer) Waiting(now time.Time) time.Duration { return d.rec.waited(now) }

// Resync drops frames until the next keyframe and asks for one: for a consumer whose
// decoder failed on a frame.
func (d *Depacketizer) Resync(now time.Time) {
	if d.codec.Video() {
		d.rec.begin(now, &d.stats, false)
	}
}

// Push adds one RTP packet that arrived at arrival and emits the frames it completes.
func (d *Depacketizer) Push(p *rtp.Packet, arrival time.Time, emit func(Frame)) {
	d.stats.Packets++
	d.now = arrival
	if d.opt.RTXPayloadType != 0 && p.PayloadType == d.opt.RTXPayloadType {
		d.pushRTX(p, arrival, emit)
		return
	}
	switch {
	case !d.haveSSRC && d.codec.Video():
		// Nothing is decodable before the first keyframe; ask for one unless it is coming.
		d.rec.begin(arrival, &d.stats, KeyframeStart(d.codec, p.Payload))
	case d.haveSSRC && p.SSRC != d.ssrc: // a new source (e.g. another simulcast layer)
		d.Drain(emit)
		d.reset()
		d.newTimeline(arrival)
	}
	d.ssrc, d.haveSSRC = p.SSRC, true
	d.reorder.push(p, arrival, func(p *rtp.Packet, at time.Time, lost bool) { d.packet(p, at, lost, emit) })
	d.rec.tick(arrival, &d.stats)
}

// pushRTX unwraps a retransmission (RFC 4588 §4: the original sequence number, then the
// original payload) into the media stream; RTX padding carries nothing.
func (d *Depacketizer) pushRTX(p *rtp.Packet, arrival time.Time, emit func(Frame)) {
	if len(p.Payload) < 2 || !d.haveSSRC {
		d.stats.Padding++
		d.rec.tick(arrival, &d.stats)
		return
	}
	orig := rtp.Packet{Header: p.Header, Payload: p.Payload[2:]}
	orig.SequenceNumber = uint16(p.Payload[0])<<8 | uint16(p.Payload[1])
	orig.SSRC, orig.Padding = d.ssrc, false
	d.reorder.push(&orig, arrival, func(p *rtp.Packet, at time.Time, lost bool) { d.packet(p, at, lost, emit) })
	d.rec.tick(arrival, &d.stats)
}

// Drain emits what the reorder buffer still holds (at the end of a source).
func (d *Depacketizer) Drain(emit func(Frame)) {
	d.reorder.drain(func(p *rtp.Packet, at time.Time, lost bool) { d.packet(p, at, lost, emit) })
}

// newTimeline marks a source change at now: what follows is a new stream, and video waits
// for its first keyframe.
func (d *Depacketizer) newTimeline(now time.Time) {
	d.stats.SourceChanges++
	d.disc, d.haveLast = true, false
	if d.codec.Video() {
		d.active = false
		d.cont = continuity{}
		d.rec.waiting = false
		d.rec.begin(now, &d.stats, false)
	}
}

// packet handles one in-order packet; lost reports a gap right before it.
func (d *Depacketizer) packet(p *rtp.Packet, arrival time.Time, lost bool, emit func(Frame)) {
	if lost {
		d.stats.Gaps++
		if d.active {
			d.broken = true
		}
		d.cont.gap()
	}
	if len(p.Payload) == 0 { // padding only: it holds a sequence number and nothing else
		d.stats.Padding++
		return
	}
	ts := d.ts.extend(p.Timestamp)
	if d.codec == Opus {
		d.checkJump(ts, arrival)
		d.stats.Frames++
		emit(Frame{Data: p.Payload, Timestamp: ts, Key: true, Arrival: arrival, Discontinuity: d.takeDisc()})
		return
	}
	if d.active && ts != d.curTS { // the previous frame never saw its marker
		d.finish(emit)
	}
	if !d.active {
		d.start(ts, arrival, p.Payload)
	}
	d.appendPayload(p.Payload)
	if p.Marker {
		d.finish(emit)
	}
}

// checkJump marks a discontinuity when the RTP clock and the arrival times disagree by more
// than MaxTimestampJump between two frames.
func (d *Depacketizer) checkJump(ts int64, at time.Time) {
	if d.haveLast {
		rate := int64(90000)
		if d.codec == Opus {
			rate = 48000
		}
		media := time.Duration((ts - d.lastTS) * int64(time.Second) / rate)
		if diff := media - at.Sub(d.lastAt); diff > MaxTimestampJump || diff < -MaxTimestampJump {
			d.stats.SourceChanges++
			d.disc = true
		}
	}
	d.lastTS, d.lastAt, d.haveLast = ts, at, true
}

func (d *Depacketizer) takeDisc() bool {
	disc := d.disc
	d.disc = false
	return disc
}

// start begins a frame with its first received packet.
func (d *Depacketizer) start(ts int64, arrival time.Time, payload []byte) {
	d.cur, d.curTS, d.arrival, d.active, d.broken = d.cur[:0], ts, arrival, true, false
	d.h264 = codecs.H264Packet{}
	d.first, d.known = Describe(d.codec, payload)
	if !d.known || !d.first.Start {
		d.broken, d.known = true, false // the frame's first packet is missing
	}
	d.checkJump(ts, arrival)
}

// appendPayload depacketizes one payload into the frame in progress.
func (d *Depacketizer) appendPayload(payload []byte) {
	if d.broken {
		return
	}
	var out []byte
	var err error
	switch d.codec {
	case VP8:
		var vp codecs.VP8Packet
		out, err = vp.Unmarshal(payload)
	case VP9:
		var vp codecs.VP9Packet
		out, err = vp.Unmarshal(payload)
		if err == nil && vp.V && len(vp.Width) > 0 {
			d.vp9Width, d.vp9High = int(vp.Width[len(vp.Width)-1]), int(vp.Height[len(vp.Height)-1])
		}
	case H264:
		out, err = d.h264.Unmarshal(payload)
	}
	if err != nil {
		d.broken = true
		return
	}
	d.cur = append(d.cur, out...)
}

// finish ends the frame in progress: it is emitted if it is complete and decodable.
func (d *Depacketizer) finish(emit func(Frame)) {
	now := d.now
	d.active = false
	if d.broken || len(d.cur) == 0 {
		d.stats.Dropped++
		d.rec.drop()
		if d.cont.lostFrame(frameInfo{desc: d.first}, d.known) {
			d.rec.begin(now, &d.stats, false)
		}
		return
	}
	f, fi := d.build()
	if !d.decodable(now, fi) {
		d.stats.Dropped++
		d.rec.drop()
		return
	}
	d.stats.Frames++
	f.Discontinuity = d.takeDisc()
	emit(f)
}

// decodable applies the keyframe wait and the continuity check to a complete frame.
func (d *Depacketizer) decodable(now time.Time, fi frameInfo) bool {
	switch {
	case fi.key:
		d.cont.reset(fi)
		d.rec.end(now, &d.stats)
		return true
	case d.rec.waiting:
		return false
	}
	switch d.cont.judge(fi) {
	case skipFrame:
		return false
	case needKey:
		d.rec.begin(now, &d.stats, false)
		return false
	}
	return true
}

// build makes the Frame of the completed frame in progress.
func (d *Depacketizer) build() (Frame, frameInfo) {
	f := Frame{Data: d.cur, Timestamp: d.curTS, Arrival: d.arrival}
	fi := frameInfo{desc: d.first}
	switch d.codec {
	case VP8:
		f.Key = d.cur[0]&1 == 0
		f.Width, f.Height, _ = VP8Dimensions(d.cur)
	case VP9:
		f.Key = d.first.Key && vp9Key(d.cur)
		if f.Key {
			f.Width, f.Height = d.vp9Width, d.vp9High
		}
	case H264:
		au := ToAVCC(d.cur)
		f.Data, f.Key, f.SPS, f.PPS = au.AVCC, au.IDR, au.SPS, au.PPS
		if au.SPS != nil {
			f.Width, f.Height, _ = SPSDimensions(au.SPS)
		}
		d.h264p.learn(au.AVCC)
		fi = d.h264p.frameInfo(au.AVCC, au.IDR)
	}
	fi.key = f.Key
	return f, fi
}

// vp9Key reads the uncompressed header's frame type (VP9 bitstream spec §6.2): a keyframe is
// a shown, non-show-existing frame of type 0.
func vp9Key(frame []byte) bool {
	r := &bitReader{b: frame}
	if r.bits(2) != 2 { // frame_marker
		return false
	}
	profile := r.bit() | r.bit()<<1
	if profile == 3 {
		r.bit()
	}
	if r.bit() == 1 { // show_existing_frame
		return false
	}
	return r.bit() == 0 && !r.err
}
