package sfu

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// ErrCodecMismatch: a down-track cannot be switched to a source with another codec.
var ErrCodecMismatch = errors.New("sfu: source codec differs from the subscription's")

// DownTrack is one subscriber's track: a webrtc.TrackLocal fed by a source Track. It writes
// every packet with its own SSRC, negotiated payload type and rewritten numbering.
type DownTrack struct {
	id, streamID string
	kind         webrtc.RTPCodecType
	codec        webrtc.RTPCodecCapability

	mu     sync.Mutex // guards everything below; contended only during a layer switch
	rw     rewriter
	active bool
	writer webrtc.TrackLocalWriter
	ssrc   uint32
	pt     uint8
	hdr    rtp.Header // reused for every packet
	rtx    retransmitter
	// RTX (RFC 4588) when the subscriber negotiated it: retransmissions go on their own SSRC
	// and payload type, with their own sequence numbers and the original one in front of
	// the payload. Zero rtxSSRC: retransmissions repeat the packet on the media SSRC.
	rtxSSRC uint32
	rtxPT   uint8
	rtxSeq  uint16
	rtxBuf  []byte
	held    bool // the transport cannot carry media yet (not connected): nothing is sent
	paused  bool // congestion control stopped the video: the link cannot carry its lowest layer
	ended   bool // the last packet sent ended a frame (marker): padding may follow
	pad     []byte
	tf      temporalFilter // VP8 temporal layers forwarded, picture-ID rewriting
	payBuf  []byte         // payload scratch for a rewritten picture ID
	// reports takes the Sender Reports of a down-track bound to a plain writer (BindWriter):
	// the current source's reports, translated to the down-track's SSRC and timestamps.
	// Nil when bound to a PeerConnection, whose report interceptor writes them.
	reports func(sr []byte)

	sent     atomic.Uint64
	bytes    atomic.Uint64 // RTP payload bytes written (not retransmissions)
	switches atomic.Uint64 // completed source switches
	pauses   atomic.Uint64 // SetPaused(true) transitions
	padded   atomic.Uint64 // padding-only packets sent (probes)
	asked    atomic.Uint64 // keyframe requests (PLI, FIR) from the subscriber
}

var (
	_ webrtc.TrackLocal = (*DownTrack)(nil)
	_ Sink              = (*DownTrack)(nil)
	_ ReportSink        = (*DownTrack)(nil)
)

// NewDownTrack returns a down-track of src with the given track and stream ids (msid). It
// is not attached: call Attach once the transport may send.
func NewDownTrack(id, streamID string, src *Track) *DownTrack {
	d := &DownTrack{id: id, streamID: streamID, kind: src.Kind(), codec: src.Codec(), active: true}
	d.tf.max, d.tf.cur = AllTemporal, AllTemporal
	d.rw = rewriter{clockRate: src.Codec().ClockRate, src: src}
	return d
}

// Codec returns the codec the down-track sends.
func (d *DownTrack) Codec() webrtc.RTPCodecCapability { return d.codec }

// Sent returns the number of packets written.
func (d *DownTrack) Sent() uint64 { return d.sent.Load() }

// Source returns the current source track.
func (d *DownTrack) Source() *Track {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rw.src
}

// Attach starts receiving packets from the source and asks it for a keyframe.
func (d *DownTrack) Attach() {
	src := d.Source()
	src.AddSink(d)
	if !d.isHeld() {
		src.RequestKeyframe()
	}
}

// Hold stops the down-track from sending and asking for keyframes until Release: its
// transport is not connected yet, so a keyframe sent now would be lost and the subscriber
// would wait for the next one.
func (d *DownTrack) Hold() {
	d.mu.Lock()
	d.held = true
	d.mu.Unlock()
}

// Release lets a held down-track send, starting at the next keyframe, which it requests.
func (d *DownTrack) Release() {
	d.mu.Lock()
	wasHeld := d.held
	d.held = false
	if wasHeld {
		d.rw.synced = false
	}
	src := d.rw.src
	d.mu.Unlock()
	if wasHeld {
		src.RequestKeyframe()
	}
}

func (d *DownTrack) isHeld() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.held
}

// Detach stops receiving from the current and any pending source.
func (d *DownTrack) Detach() {
	d.mu.Lock()
	src, pending := d.rw.src, d.rw.pending
	d.rw.pending = nil
	d.mu.Unlock()
	src.RemoveSink(d)
	if pending != nil {
		pending.RemoveSink(d)
	}
}

// WritePacket implements Sink. A packet that cannot be sent because the down-track waits
// for a keyframe of src (to start, resume or switch to it) asks src for one: the request
// that started the wait may have been lost or ignored by the publisher, and nothing else
// would ask again (a consumer that receives nothing has nothing to complain about). The
// source throttles the requests.
func (d *DownTrack) WritePacket(src *Track, p *Packet) {
	if d.writePacket(src, p) {
		src.RequestKeyframe()
	}
}

// writePacket sends p and reports whether the down-track waits for a keyframe of src.
func (d *DownTrack) writePacket(src *Track, p *Packet) (waiting bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.active || d.writer == nil || d.held || d.paused {
		return false
	}
	temporal := p.HasTID && p.HasPicID
	if temporal && src == d.rw.src && d.rw.synced && !d.tf.admit(p, p.At) {
		if fill, late := d.rw.skip(p.Seq); late {
			d.writePaddingAt(fill)
		}
		return false
	}
	old := d.rw.src
	seq, ts, ok := d.rw.rewrite(src, p, p.At)
	if !ok {
		return !p.Keyframe && (src == d.rw.pending || src == d.rw.src && !d.rw.synced)
	}
	if d.rw.src != old { // switched to the pending source at its keyframe
		old.RemoveSink(d)
		d.switches.Add(1)
	}
	payload := p.Payload
	var pic uint16
	var picBits uint8
	if temporal {
		if d.rw.justSynced {
			d.tf.sync(p)
		}
		if out, ok := d.tf.outPic(p.PicID); ok && d.tf.munge {
			d.payBuf = append(d.payBuf[:0], payload...)
			writePictureID(d.payBuf, out, p.PicBits)
			payload, pic, picBits = d.payBuf, out, p.PicBits
		}
		waiting = d.tf.waitingUp(p.At)
	} else if d.rw.justSynced {
		d.tf.started, d.tf.munge = false, false
	}
	h := &d.hdr
	h.Version, h.Padding, h.Extension, h.ExtensionProfile = 2, false, false, 0
	h.Extensions, h.CSRC = h.Extensions[:0], nil
	h.Marker, h.PayloadType, h.SequenceNumber, h.Timestamp, h.SSRC = p.Marker, d.pt, seq, ts, d.ssrc
	if _, err := d.writer.WriteRTP(h, payload); err == nil {
		d.ended = p.Marker
		d.sent.Add(1)
		d.bytes.Add(uint64(len(payload)))
		if src.hist != nil {
			d.rtx.note(src, p.Seq, seq, ts, pic, picBits)
		}
	}
	return waiting
}

// writePaddingAt sends one padding-only packet numbered seq: it fills the place of a packet
// that arrived too late to be left out of the numbering (rewriter.skip).
func (d *DownTrack) writePaddingAt(seq uint16) {
	if len(d.pad) == 0 {
		d.pad = []byte{1}
	}
	h := &d.hdr
	h.Version, h.Padding, h.Extension, h.ExtensionProfile = 2, true, false, 0
	h.Extensions, h.CSRC = h.Extensions[:0], nil
	h.Marker, h.PayloadType, h.SequenceNumber, h.Timestamp, h.SSRC = false, d.pt, seq, d.rw.lastTS, d.ssrc
	if _, err := d.writer.WriteRTP(h, d.pad); err == nil {
		d.padded.Add(1)
	}
	h.Padding = false
}

// MaxPadding is the largest padding a padding-only packet carries (RTP's padding length is
// one byte).
const MaxPadding = 255

// WritePadding sends n padding-only packets of size bytes (1..MaxPadding): congestion
// control's bandwidth probes. They take the next sequence numbers (the media that follows
// is renumbered after them) and the last timestamp, so a receiver drops them as padding.
// Nothing is sent (0 returned) before the first media packet, in the middle of a frame, or
// while the track cannot send; padding is allowed while paused, which is how a paused video
// finds out that the link recovered.
func (d *DownTrack) WritePadding(n, size int) int {
	size = min(max(size, 1), MaxPadding)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.writer == nil || !d.active || d.held || !d.rw.started || !(d.ended || d.paused) {
		return 0
	}
	if len(d.pad) != size {
		d.pad = make([]byte, size)
		d.pad[size-1] = byte(size)
	}
	sent := 0
	h := &d.hdr
	for range n {
		seq := d.rw.lastSeq + 1
		h.Version, h.Padding, h.Extension, h.ExtensionProfile = 2, true, false, 0
		h.Extensions, h.CSRC = h.Extensions[:0], nil
		h.Marker, h.PayloadType, h.SequenceNumber, h.Timestamp, h.SSRC = false, d.pt, seq, d.rw.lastTS, d.ssrc
		if _, err := d.writer.WriteRTP(h, d.pad); err != nil {
			break
		}
		d.rw.lastSeq = seq
		sent++
	}
	// Media after the last input packet seen is numbered after the padding; a late packet
	// from before it keeps the number left free for it.
	d.rw.pad(uint16(sent))
	h.Padding = false
	d.padded.Add(uint64(sent))
	return sent
}

// Retransmitted returns the packets resent for NACKs and the NACKed packets that were no
// longer available.
func (d *DownTrack) Retransmitted() (resent, missed uint64) {
	return d.rtx.resent.Load(), d.rtx.missed.Load()
}

// retransmit resends the packet this down-track sent as seq, from its source's history, with
// the same sequence number and timestamp.
func (d *DownTrack) retransmit(seq uint16) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.rtx.entry(seq)
	if d.writer == nil || !d.active || e == nil || e.resends >= maxResends {
		d.rtx.missed.Add(1)
		return
	}
	payload, marker, ok := e.src.hist.get(e.srcSeq, d.rtx.buf)
	d.rtx.buf = payload
	if !ok {
		d.rtx.missed.Add(1)
		return
	}
	e.resends++
	if e.picBits != 0 && len(payload) > 3 {
		writePictureID(payload, e.pic, e.picBits)
	}
	h := &d.rtx.hdr
	h.Version, h.Marker, h.PayloadType, h.SequenceNumber, h.Timestamp, h.SSRC = 2, marker, d.pt, seq, e.ts, d.ssrc
	if d.rtxSSRC != 0 { // RFC 4588 §4: own SSRC, payload type and numbering; OSN first
		d.rtxBuf = append(append(d.rtxBuf[:0], byte(seq>>8), byte(seq)), payload...)
		payload = d.rtxBuf
		h.PayloadType, h.SequenceNumber, h.SSRC = d.rtxPT, d.rtxSeq, d.rtxSSRC
		d.rtxSeq++
	}
	if _, err := d.writer.WriteRTP(h, payload); err == nil {
		d.rtx.resent.Add(1)
	}
}

// rtxFor returns the payload type of the negotiated RTX codec for the codec with payload
// type apt, if any.
func rtxFor(codecs []webrtc.RTPCodecParameters, apt webrtc.PayloadType) (uint8, bool) {
	for _, r := range codecs {
		if strings.EqualFold(r.MimeType, webrtc.MimeTypeRTX) && fmtpValue(r.SDPFmtpLine, "apt") == strconv.Itoa(int(apt)) {
			return uint8(r.PayloadType), true
		}
	}
	return 0, false
}

// Switch re-points the down-track to another source (a simulcast layer or another stream
// with the same codec). Forwarding moves over at the new source's next keyframe, which is
// requested; until then the old source keeps flowing.
func (d *DownTrack) Switch(to *Track) error {
	if !SameCodec(d.codec, to.Codec()) {
		return fmt.Errorf("%w: %s", ErrCodecMismatch, to.Codec().MimeType)
	}
	d.mu.Lock()
	prev := d.rw.pending
	if to == d.rw.src {
		d.rw.pending = nil
	} else {
		d.rw.pending = to
	}
	d.mu.Unlock()
	if prev != nil && prev != to {
		prev.RemoveSink(d)
	}
	if to != d.Source() {
		to.AddSink(d)
		to.RequestKeyframe()
	}
	return nil
}

// SetActive stops (false) or resumes sending; a resume restarts at a keyframe.
func (d *DownTrack) SetActive(active bool) {
	d.mu.Lock()
	changed := d.active != active
	d.active = active
	if active {
		d.rw.synced = false
	}
	src := d.rw.src
	d.mu.Unlock()
	if changed && active {
		src.RequestKeyframe()
	}
}

// SetPaused stops (true) or resumes the down-track for congestion control, independently of
// SetActive (the subscriber's own mute): a paused track sends nothing, and a resume restarts
// at a keyframe, which is requested.
func (d *DownTrack) SetPaused(paused bool) {
	d.mu.Lock()
	changed := d.paused != paused
	d.paused = paused
	if changed && !paused {
		d.rw.synced = false
	}
	src := d.rw.src
	if d.rw.pending != nil {
		src = d.rw.pending
	}
	d.mu.Unlock()
	if changed && paused {
		d.pauses.Add(1)
	}
	if changed && !paused {
		src.RequestKeyframe()
	}
}

// SetTemporal sets the highest VP8 temporal layer forwarded (AllTemporal: every layer).
// Going down takes effect at the next frame; going up at the next frame of the higher layer
// that is marked layer-sync, or at a keyframe, which is asked for when none comes within
// temporalUpWait. Tracks without temporal layers ignore it.
func (d *DownTrack) SetTemporal(max uint8) {
	d.mu.Lock()
	d.tf.setMax(max, d.rw.src.now())
	d.mu.Unlock()
}

// Temporal returns the highest temporal layer the down-track is set to forward
// (SetTemporal) and the one it forwards now.
func (d *DownTrack) Temporal() (max, cur uint8) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.tf.max, d.tf.cur
}

// KeyframeRequests returns the keyframe requests (PLI, FIR) the subscriber sent: each is a
// picture it could not decode (a freeze, or its start).
func (d *DownTrack) KeyframeRequests() uint64 { return d.asked.Load() }

// TemporalDropped returns the number of frames left out for the temporal ceiling.
func (d *DownTrack) TemporalDropped() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.tf.dropped
}

// Active reports whether the subscriber wants the track (SetActive).
func (d *DownTrack) Active() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.active
}

// Paused reports whether congestion control paused the down-track.
func (d *DownTrack) Paused() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.paused
}

// Target returns the source the down-track sends or is switching to.
func (d *DownTrack) Target() *Track {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.rw.pending != nil {
		return d.rw.pending
	}
	return d.rw.src
}

// Counters returns the payload bytes written, the completed source switches, the pauses
// and the padding-only packets sent.
func (d *DownTrack) Counters() (bytes, switches, pauses, padding uint64) {
	return d.bytes.Load(), d.switches.Load(), d.pauses.Load(), d.padded.Load()
}

// Resync implements resyncer: numbering restarts at the source's next keyframe.
func (d *DownTrack) Resync() {
	d.mu.Lock()
	d.rw.synced = false
	d.mu.Unlock()
}

// HandleRTCP answers a subscriber's generic NACKs from the source's history and forwards
// its keyframe requests (PLI, FIR) to the source, which throttles them.
func (d *DownTrack) HandleRTCP(pkts []rtcp.Packet) {
	nackedSeqs(pkts, d.retransmit)
	for _, p := range pkts {
		switch p.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			d.asked.Add(1)
			d.Source().RequestKeyframe()
			return
		}
	}
}

// Bind implements webrtc.TrackLocal: it picks the negotiated codec matching the source.
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if !strings.EqualFold(c.MimeType, d.codec.MimeType) || !SameCodec(c.RTPCodecCapability, d.codec) {
			continue
		}
		d.mu.Lock()
		d.writer, d.ssrc, d.pt = ctx.WriteStream(), uint32(ctx.SSRC()), uint8(c.PayloadType)
		d.rtxSSRC, d.rtxPT = 0, 0
		if pt, ok := rtxFor(ctx.CodecParameters(), c.PayloadType); ok && ctx.SSRCRetransmission() != 0 {
			d.rtxSSRC, d.rtxPT, d.rtxSeq = uint32(ctx.SSRCRetransmission()), pt, uint16(rand.Uint32())
		}
		d.rw.synced = false
		src, held := d.rw.src, d.held
		d.mu.Unlock()
		if !held {
			src.RequestKeyframe()
		}
		return c, nil
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

// BindWriter binds the down-track to a plain RTP writer instead of a PeerConnection (a
// media link toward another agent): it sends with ssrc and payload type pt, and hands the
// Sender Reports of its current source, translated to ssrc and its own timestamps, to
// reports (which must not block or keep the slice).
func (d *DownTrack) BindWriter(w webrtc.TrackLocalWriter, ssrc uint32, pt uint8, reports func(sr []byte)) {
	d.mu.Lock()
	d.writer, d.ssrc, d.pt, d.reports = w, ssrc, pt, reports
	d.rw.synced = false
	src, held := d.rw.src, d.held
	d.mu.Unlock()
	if !held {
		src.RequestKeyframe()
	}
}

// WriteSenderReport implements ReportSink for a down-track bound with BindWriter: a report
// of the source it currently sends (once numbering is synced to it) goes out with the
// down-track's SSRC, the RTP time mapped like its packets' timestamps and its own counts.
// Reports of other sources, and every report of a PeerConnection-bound down-track, are
// dropped.
func (d *DownTrack) WriteSenderReport(src *Track, sr []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.reports == nil || src != d.rw.src || !d.rw.synced || d.writer == nil || !d.active || d.held || d.paused {
		return
	}
	var in rtcp.SenderReport
	if in.Unmarshal(sr) != nil {
		return
	}
	out := rtcp.SenderReport{SSRC: d.ssrc, NTPTime: in.NTPTime, RTPTime: in.RTPTime + d.rw.tsOff,
		PacketCount: uint32(d.sent.Load()), OctetCount: uint32(d.bytes.Load())}
	if b, err := out.Marshal(); err == nil {
		d.reports(b)
	}
}

// Unbind implements webrtc.TrackLocal.
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	d.mu.Lock()
	d.writer = nil
	d.mu.Unlock()
	return nil
}

// ID implements webrtc.TrackLocal.
func (d *DownTrack) ID() string { return d.id }

// RID implements webrtc.TrackLocal.
func (d *DownTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal.
func (d *DownTrack) StreamID() string { return d.streamID }

// Kind implements webrtc.TrackLocal.
func (d *DownTrack) Kind() webrtc.RTPCodecType { return d.kind }
