package rtpframe

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// DefaultMaxDelay is how long a packet waits for a missing predecessor.
const DefaultMaxDelay = 100 * time.Millisecond

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
}

// Stats counts what a Depacketizer did.
type Stats struct {
	Packets    uint64 // packets pushed
	Frames     uint64 // frames emitted
	Gaps       uint64 // sequence gaps (packets declared lost)
	Dropped    uint64 // frames dropped: incomplete or waiting for a keyframe
	KeyRequest uint64 // keyframe requests made
}

// Depacketizer assembles one source's frames. It is not safe for concurrent use.
type Depacketizer struct {
	codec    Codec
	reorder  reorder
	ts       unwrapper
	keyframe func()
	stats    Stats

	// Frame in progress.
	cur      []byte
	curTS    int64
	arrival  time.Time
	active   bool // a frame is in progress
	broken   bool // the frame in progress lost a packet or missed its start
	needKey  bool // video: drop frames until a keyframe
	h264     codecs.H264Packet
	vp9Width int
	vp9High  int
}

// New returns a depacketizer for codec. keyframe (may be nil) is called when the video
// needs a keyframe to recover from a loss; maxDelay <= 0 means DefaultMaxDelay.
func New(codec Codec, maxDelay time.Duration, keyframe func()) *Depacketizer {
	if maxDelay <= 0 {
		maxDelay = DefaultMaxDelay
	}
	if keyframe == nil {
		keyframe = func() {}
	}
	d := &Depacketizer{codec: codec, keyframe: keyframe, needKey: codec.Video()}
	d.reorder.maxDelay = maxDelay
	d.reorder.seq.bits = 16
	d.ts.bits = 32
	return d
}

// Stats returns the counters.
func (d *Depacketizer) Stats() Stats { return d.stats }

// Push adds one RTP packet that arrived at arrival and emits the frames it completes.
func (d *Depacketizer) Push(p *rtp.Packet, arrival time.Time, emit func(Frame)) {
	d.stats.Packets++
	d.reorder.push(p, arrival, func(p *rtp.Packet, at time.Time, lost bool) { d.packet(p, at, lost, emit) })
}

// Drain emits what the reorder buffer still holds (at the end of a source).
func (d *Depacketizer) Drain(emit func(Frame)) {
	d.reorder.drain(func(p *rtp.Packet, at time.Time, lost bool) { d.packet(p, at, lost, emit) })
}

// packet handles one in-order packet; lost reports a gap right before it.
func (d *Depacketizer) packet(p *rtp.Packet, arrival time.Time, lost bool, emit func(Frame)) {
	ts := d.ts.extend(p.Timestamp)
	if lost {
		d.stats.Gaps++
		d.loss()
	}
	if d.codec == Opus {
		if len(p.Payload) > 0 {
			d.stats.Frames++
			emit(Frame{Data: p.Payload, Timestamp: ts, Key: true, Arrival: arrival})
		}
		return
	}
	if d.active && ts != d.curTS { // the previous frame never saw its marker
		d.drop()
	}
	if !d.active {
		d.start(ts, arrival)
	}
	d.appendPayload(p.Payload)
	if p.Marker {
		d.finish(emit)
	}
}

// loss marks the frame in progress broken and, for video, waits for a keyframe.
func (d *Depacketizer) loss() {
	if d.active {
		d.broken = true
	}
	if d.codec.Video() && !d.needKey {
		d.needKey = true
		d.stats.KeyRequest++
		d.keyframe()
	}
}

func (d *Depacketizer) start(ts int64, arrival time.Time) {
	d.cur, d.curTS, d.arrival, d.active, d.broken = d.cur[:0], ts, arrival, true, false
	d.h264 = codecs.H264Packet{}
}

func (d *Depacketizer) drop() {
	d.active = false
	d.stats.Dropped++
	if !d.needKey {
		d.needKey = true
		d.stats.KeyRequest++
		d.keyframe()
	}
}

// appendPayload depacketizes one payload into the frame in progress; a frame that does not
// begin with a start-of-frame packet is broken.
func (d *Depacketizer) appendPayload(payload []byte) {
	first := len(d.cur) == 0 && !d.broken
	var out []byte
	var err error
	switch d.codec {
	case VP8:
		var vp codecs.VP8Packet
		out, err = vp.Unmarshal(payload)
		if err == nil && first && (vp.S != 1 || vp.PID != 0) {
			d.broken = true
		}
	case VP9:
		var vp codecs.VP9Packet
		out, err = vp.Unmarshal(payload)
		if err == nil && first && !vp.B {
			d.broken = true
		}
		if err == nil && vp.V && len(vp.Width) > 0 {
			d.vp9Width, d.vp9High = int(vp.Width[len(vp.Width)-1]), int(vp.Height[len(vp.Height)-1])
		}
	case H264:
		if first && len(payload) > 1 && payload[0]&0x1F == 28 && payload[1]&0x80 == 0 {
			d.broken = true // a FU-A continuation without its start fragment
		}
		out, err = d.h264.Unmarshal(payload)
	}
	if err != nil {
		d.broken = true
		return
	}
	d.cur = append(d.cur, out...)
}

// finish emits the frame in progress if it is complete and decodable.
func (d *Depacketizer) finish(emit func(Frame)) {
	d.active = false
	if d.broken || len(d.cur) == 0 {
		d.drop()
		return
	}
	f := Frame{Data: d.cur, Timestamp: d.curTS, Arrival: d.arrival}
	switch d.codec {
	case VP8:
		f.Key = d.cur[0]&1 == 0
		f.Width, f.Height, _ = VP8Dimensions(d.cur)
	case VP9:
		f.Key = vp9Key(d.cur)
		if f.Key {
			f.Width, f.Height = d.vp9Width, d.vp9High
		}
	case H264:
		au := ToAVCC(d.cur)
		f.Data, f.Key, f.SPS, f.PPS = au.AVCC, au.IDR, au.SPS, au.PPS
		if au.SPS != nil {
			f.Width, f.Height, _ = SPSDimensions(au.SPS)
		}
	}
	if d.needKey && !f.Key {
		d.stats.Dropped++
		return
	}
	d.needKey = false
	d.stats.Frames++
	emit(f)
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
