package sfu

import (
	"github.com/conclave-rtc/conclave/common/rtpframe"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// DefaultKeyframeInterval is the minimum interval between two keyframe requests sent to a
// publisher for one track, however many subscribers ask. A request made while an earlier one
// is still unanswered (no keyframe arrived since) sends nothing: the keyframe on its way
// serves every subscriber waiting by then.
const DefaultKeyframeInterval = 100 * time.Millisecond

// keyframeAnswerTimeout is how long a request counts as unanswered: a publisher that ignored
// it is asked again after this. Chromium answers within a frame or two, but ignores a
// request that arrives while it reconfigures its encoder (it just stopped or started a
// simulcast layer, which is exactly when a consumer switching layers asks): waiting a whole
// second before asking again froze such a switch for that long.
const keyframeAnswerTimeout = 300 * time.Millisecond

// Sink receives a Track's packets. WritePacket runs on the track's forwarding goroutine and
// must not block; p is valid only during the call.
type Sink interface {
	WritePacket(src *Track, p *Packet)
}

// SourceCloser is a sink told when its source track closes (e.g. a media-link exporter that
// must end its link).
type SourceCloser interface{ SourceClosed() }

// resyncer is a sink whose numbering must restart at the next keyframe (after the source
// was muted).
type resyncer interface{ Resync() }

// TrackConfig describes a publication track.
type TrackConfig struct {
	ID    string // <transportId>-<mid>[:<rid>]
	Kind  webrtc.RTPCodecType
	Codec webrtc.RTPCodecCapability
	// PayloadType is the payload type the publisher sends (0 when unknown, e.g. an imported
	// track); a down-track bound to a plain writer keeps it.
	PayloadType uint8
	// Keyframe asks the publisher for a keyframe (PLI upstream). It may be nil.
	Keyframe func()
	// KeyframeInterval throttles Keyframe (default DefaultKeyframeInterval).
	KeyframeInterval time.Duration
	// History is the number of forwarded packets kept to answer subscribers' NACKs (video
	// only; 0: DefaultHistory, negative: none).
	History int
}

// Track is one published track (one rid of a simulcast publication, or one relayed track).
// One goroutine feeds it with Forward; sinks are added and removed from any goroutine and
// read lock-free on the packet path (copy-on-write slice).
type Track struct {
	cfg      TrackConfig
	keyframe func(payload []byte) bool // starts a keyframe (rtpframe.KeyframeDetector)
	codec    rtpframe.Codec            // 0 when the size of its pictures cannot be read
	size     atomic.Uint64             // width<<32 | height of the latest keyframe
	sizeCh   chan struct{}             // signalled (coalescing) when size changes
	done     chan struct{}             // closed by Close

	sinks     atomic.Pointer[[]Sink]
	mu        sync.Mutex // serialises sink list updates
	active    atomic.Bool
	closed    atomic.Bool
	kfPending atomic.Bool  // a throttled request waits for the interval's end
	lastKF    atomic.Int64 // unix ns of the last keyframe request sent upstream
	lastKey   atomic.Int64 // unix ns of the last keyframe forwarded

	pkt     Packet       // reused by the forwarding goroutine
	now     func() int64 // wall clock (unix ns) stamped on forwarded packets
	hist    *history     // nil: no retransmissions (audio, or History < 0)
	packets atomic.Uint64
	bytes   atomic.Uint64 // RTP bytes received (header and payload)
	rate    rateMeter     // Bitrate, from bytes
	ssrc    atomic.Uint64 // ssrcKnown | SSRC of the last forwarded packet (0: none yet)
	// lastMedia is when (t.now) the last packet with a payload arrived: padding-only packets
	// (a browser keeps sending them on a layer it stopped encoding) do not count.
	lastMedia atomic.Int64
	// kfRequests counts the keyframe requests sent upstream (after throttling).
	kfRequests atomic.Uint64
	reports    atomic.Uint64 // Sender Reports forwarded
	// Per VP8 temporal layer (TID): RTP bytes received, their rate, and when (t.now) media of
	// the layer last arrived.
	tidBytes [maxTemporalLayers]atomic.Uint64
	tidRate  [maxTemporalLayers]rateMeter
	tidLast  [maxTemporalLayers]atomic.Int64
	// Dynacast (transport's layer demand): held marks a simulcast layer the publisher was asked
	// to stop because nobody receives it, heldRate its rate before (bit/s), wanted when (t.now)
	// a follower (Follow) last wanted it although it may not be its sink.
	held     atomic.Bool
	heldRate atomic.Int64
	resumed  atomic.Int64 // when (t.now) SetHeld(false) asked for it again
	lastRate atomic.Int64 // the last non-zero Bitrate
	wanted   atomic.Int64
}

// NewTrack returns an active track with no sinks.
func NewTrack(cfg TrackConfig) *Track {
	if cfg.KeyframeInterval <= 0 {
		cfg.KeyframeInterval = DefaultKeyframeInterval
	}
	t := &Track{cfg: cfg, keyframe: rtpframe.KeyframeDetector(cfg.Codec.MimeType),
		sizeCh: make(chan struct{}, 1), done: make(chan struct{}),
		now: func() int64 { return time.Now().UnixNano() }}
	if c, err := rtpframe.CodecOf(cfg.Codec.MimeType); err == nil && c.Video() {
		t.codec = c
	}
	if t.keyframe == nil {
		t.keyframe = func([]byte) bool { return false } // a codec we cannot parse: never switch on it
	}
	if cfg.Kind == webrtc.RTPCodecTypeVideo && cfg.History >= 0 {
		size := cfg.History
		if size == 0 {
			size = DefaultHistory
		}
		t.hist = newHistory(size)
	}
	t.active.Store(true)
	return t
}

// ID returns the track id.
func (t *Track) ID() string { return t.cfg.ID }

// Kind returns audio or video.
func (t *Track) Kind() webrtc.RTPCodecType { return t.cfg.Kind }

// Codec returns the negotiated codec of the publication.
func (t *Track) Codec() webrtc.RTPCodecCapability { return t.cfg.Codec }

// Bytes returns the number of RTP bytes received (headers included).
func (t *Track) Bytes() uint64 { return t.bytes.Load() }

// KeyframeRequests returns the number of keyframe requests sent to the publisher (what
// throttling let through).
func (t *Track) KeyframeRequests() uint64 { return t.kfRequests.Load() }

// PayloadType returns the payload type the publisher sends (0 when unknown).
func (t *Track) PayloadType() uint8 { return t.cfg.PayloadType }

// Packets returns the number of RTP packets received.
func (t *Track) Packets() uint64 { return t.packets.Load() }

// Bitrate returns the rate the publisher sends this track at, in bit/s, measured over the
// last rateWindow (0 when nothing arrived in that window: the layer is not being sent).
// Callers on any goroutine may poll it; it costs a lock and a clock read.
func (t *Track) Bitrate() int {
	r := t.rate.rate(t.bytes.Load(), time.Unix(0, t.now()))
	if r > 0 {
		t.lastRate.Store(int64(r))
	}
	return r
}

// LastBitrate returns the last non-zero rate Bitrate measured (0: never), e.g. of a layer the
// publisher stopped.
func (t *Track) LastBitrate() int { return int(t.lastRate.Load()) }

// SetHeld marks the layer as stopped at the publisher's end on the server's request (true,
// remembering its last measured rate) or asked for again (false). Congestion control may still
// choose a held layer at the rate it had: choosing it makes it needed, and the publisher is
// asked to send it again.
func (t *Track) SetHeld(held bool) {
	if held {
		t.Bitrate()
		t.heldRate.Store(t.lastRate.Load())
	} else if t.held.Load() {
		t.resumed.Store(t.now())
	}
	t.held.Store(held)
}

// resumeGrace is how long a layer asked for again still counts as held while it does not
// flow yet: the publisher needs a signaling round trip and an encoder restart, and a
// consumer that chose it must not see it vanish from the choice meanwhile (it would step
// back down, the layer would be idle again and paused: a loop that never gets there).
const resumeGrace = 3 * time.Second

// Held reports whether the layer is held (SetHeld) — or was asked for again within
// resumeGrace and does not flow yet — and the rate it had when held (0: unknown).
func (t *Track) Held() (held bool, bps int) {
	h := t.held.Load()
	if !h {
		r := t.resumed.Load()
		h = r != 0 && t.now()-r < int64(resumeGrace) && !t.Flowing()
	}
	return h, int(t.heldRate.Load())
}

// WantedWithin reports whether a follower wanted the layer within d (Follow marks its
// ceiling each time it runs).
func (t *Track) WantedWithin(d time.Duration) bool {
	w := t.wanted.Load()
	return w != 0 && t.now()-w < int64(d)
}

// FlowWindow is how recently a track must have received media to count as flowing.
const FlowWindow = 500 * time.Millisecond

// Flowing reports whether the publisher sent media on the track (a packet with a payload,
// not padding) within the last FlowWindow: whether a simulcast layer is being encoded. It is
// cheap (one clock read) and exact, unlike Bitrate, which needs polls and counts padding.
func (t *Track) Flowing() bool {
	last := t.lastMedia.Load()
	return last != 0 && t.now()-last < int64(FlowWindow) && !t.closed.Load()
}

// Forward parses one RTP packet and hands it to every sink. It reports false for data that
// is not RTP. Only one goroutine may call it.
func (t *Track) Forward(b []byte) bool {
	if !ParseRTP(b, &t.pkt) {
		return false
	}
	t.packets.Add(1)
	t.bytes.Add(uint64(len(b)))
	t.noteSSRC(t.pkt.SSRC)
	now := t.now()
	if len(t.pkt.Payload) > 0 { // not a padding-only packet (bandwidth probes)
		t.lastMedia.Store(now)
	}
	if t.codec == rtpframe.VP8 && len(t.pkt.Payload) > 0 {
		t.describeVP8(len(b), now)
	}
	if !t.active.Load() || t.closed.Load() {
		return true
	}
	if t.codec != rtpframe.VP8 {
		t.pkt.Keyframe = t.keyframe(t.pkt.Payload)
	}
	if t.pkt.Keyframe && t.codec != 0 {
		t.learnSize()
	}
	sinks := t.sinks.Load()
	if sinks == nil || len(*sinks) == 0 {
		return true
	}
	t.pkt.At = now
	if t.pkt.Keyframe && t.cfg.Kind == webrtc.RTPCodecTypeVideo {
		t.lastKey.Store(t.pkt.At)
	}
	if t.hist != nil {
		t.hist.put(&t.pkt)
	}
	for _, s := range *sinks {
		s.WritePacket(t, &t.pkt)
	}
	return true
}

// describeVP8 reads the VP8 descriptor of the current packet (n bytes, arrived at now) into
// t.pkt and counts it toward its temporal layer.
func (t *Track) describeVP8(n int, now int64) {
	d, ok := rtpframe.Describe(rtpframe.VP8, t.pkt.Payload)
	if !ok {
		return
	}
	t.pkt.Keyframe = d.Key
	t.pkt.HasPicID, t.pkt.PicBits, t.pkt.PicID = d.HasPictureID, d.PictureBits, d.PictureID
	t.pkt.HasTID, t.pkt.TID, t.pkt.LayerSync = d.HasTID, d.TID, d.LayerSync
	if d.HasTID {
		t.tidBytes[d.TID].Add(uint64(n))
		t.tidLast[d.TID].Store(now)
	}
}

// TemporalLayers returns the number of VP8 temporal layers the publisher sends on the track
// (the highest TID that arrived within two FlowWindows, plus one), 0 when its packets name
// none.
func (t *Track) TemporalLayers() int {
	now := t.now()
	for tid := maxTemporalLayers - 1; tid >= 0; tid-- {
		if last := t.tidLast[tid].Load(); last != 0 && now-last < 2*int64(FlowWindow) {
			return tid + 1
		}
	}
	return 0
}

// TemporalBitrate returns the rate (bit/s) of temporal layers 0 to tid together: what a
// subscriber sent only those layers receives.
func (t *Track) TemporalBitrate(tid int) int {
	at := time.Unix(0, t.now())
	sum := 0
	for i := 0; i <= tid && i < maxTemporalLayers; i++ {
		sum += t.tidRate[i].rate(t.tidBytes[i].Load(), at)
	}
	return sum
}

// learnSize reads the picture size of a keyframe's first packet and signals a change. It
// runs once per keyframe, on the forwarding goroutine.
func (t *Track) learnSize() {
	w, h, ok := rtpframe.KeyframeSize(t.codec, t.pkt.Payload)
	if !ok {
		return
	}
	if v := uint64(w)<<32 | uint64(h); t.size.Swap(v) != v {
		select {
		case t.sizeCh <- struct{}{}:
		default: // a signal is pending: the reader will see the latest size
		}
	}
}

// Size returns the picture size of the latest keyframe (0, 0 before the first one, and
// always for audio).
func (t *Track) Size() (width, height int) {
	v := t.size.Load()
	return int(v >> 32), int(v & 0xFFFFFFFF)
}

// SizeChanged is signalled when Size changes (signals coalesce: read Size after each).
func (t *Track) SizeChanged() <-chan struct{} { return t.sizeCh }

// Done is closed when the track is closed.
func (t *Track) Done() <-chan struct{} { return t.done }

// AddSink starts forwarding to s; adding a sink twice is a no-op.
func (t *Track) AddSink(s Sink) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.loadSinks()
	if slices.Contains(old, s) {
		return
	}
	next := append(slices.Clip(old), s)
	t.sinks.Store(&next)
}

// RemoveSink stops forwarding to s and returns the number of sinks left.
func (t *Track) RemoveSink(s Sink) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	next := slices.DeleteFunc(slices.Clone(t.loadSinks()), func(x Sink) bool { return x == s })
	t.sinks.Store(&next)
	return len(next)
}

// Sinks returns the number of sinks.
func (t *Track) Sinks() int { return len(t.loadSinks()) }

func (t *Track) loadSinks() []Sink {
	if p := t.sinks.Load(); p != nil {
		return *p
	}
	return nil
}

// RequestKeyframe asks the publisher for a keyframe. While an earlier request is unanswered
// it does nothing (that keyframe is coming). Within the throttle interval after the previous
// request it is deferred to the end of the interval rather than dropped: a new subscriber
// that became ready just after a keyframe passed would otherwise wait for the publisher's
// next natural keyframe (seconds).
func (t *Track) RequestKeyframe() {
	if t.cfg.Keyframe == nil || t.closed.Load() {
		return
	}
	now := t.now() // the clock keyframes are stamped with (lastKey)
	last := t.lastKF.Load()
	if last != 0 && last > t.lastKey.Load() && now-last < int64(keyframeAnswerTimeout) {
		return
	}
	if wait := last + int64(t.cfg.KeyframeInterval) - now; last != 0 && wait > 0 {
		if t.kfPending.CompareAndSwap(false, true) {
			time.AfterFunc(time.Duration(wait), func() {
				t.kfPending.Store(false)
				t.RequestKeyframe()
			})
		}
		return
	}
	if !t.lastKF.CompareAndSwap(last, now) {
		return
	}
	t.kfRequests.Add(1)
	t.cfg.Keyframe()
}

// SetActive mutes (false: packets are dropped) or unmutes the track. On unmute every sink
// restarts its numbering at the next keyframe, which is requested.
func (t *Track) SetActive(active bool) {
	if t.active.Swap(active) == active || !active {
		return
	}
	for _, s := range t.loadSinks() {
		if r, ok := s.(resyncer); ok {
			r.Resync()
		}
	}
	t.lastKF.Store(0)
	t.RequestKeyframe()
}

// Active reports whether the track forwards packets.
func (t *Track) Active() bool { return t.active.Load() }

// Close stops forwarding for good, tells SourceCloser sinks, and returns the sinks that
// were attached.
func (t *Track) Close() []Sink {
	if !t.closed.Swap(true) {
		close(t.done)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.loadSinks()
	t.sinks.Store(nil)
	for _, s := range old {
		if c, ok := s.(SourceCloser); ok {
			c.SourceClosed()
		}
	}
	return old
}

// Closed reports whether Close was called.
func (t *Track) Closed() bool { return t.closed.Load() }

// rateWindow is the shortest interval a Bitrate measurement spans; rates are smoothed over
// about two windows.
const rateWindow = 500 * time.Millisecond

// rateMeter turns a byte counter into a smoothed bit rate for pollers.
type rateMeter struct {
	mu        sync.Mutex
	at        time.Time // start of the current window
	bytes     uint64    // counter at at
	bps       float64   // smoothed rate
	lastBytes uint64    // counter when a byte last arrived
	lastAt    time.Time // when the counter last moved (as seen by a poll)
}

// rate returns the smoothed rate given the counter's value now. A window with no bytes gives
// 0 at once: a layer the publisher stopped must not be chosen.
func (m *rateMeter) rate(total uint64, now time.Time) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.at.IsZero() {
		m.at, m.bytes, m.lastBytes, m.lastAt = now, total, total, now
		return 0
	}
	if total != m.lastBytes {
		m.lastBytes, m.lastAt = total, now
	}
	if now.Sub(m.lastAt) >= rateWindow {
		m.at, m.bytes, m.bps = now, total, 0
		return 0
	}
	if d := now.Sub(m.at); d >= rateWindow {
		sample := float64(total-m.bytes) * 8 / d.Seconds()
		if m.bps == 0 {
			m.bps = sample
		} else {
			m.bps += (sample - m.bps) / 2
		}
		m.at, m.bytes = now, total
	}
	return int(m.bps)
}
