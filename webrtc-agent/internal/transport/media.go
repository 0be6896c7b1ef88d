package transport

import (
	"errors"
	"io"
	"net"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// onTrack binds a client's incoming track (one per mid, or per rid with simulcast) to a new
// publication track and starts its read loop. Pion calls it once the first packet arrived.
func (t *Transport) onTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	mid := t.midOf(recv)
	t.mu.Lock()
	to := t.mids[mid]
	if t.closed || to == nil || !to.op.publish || to.published[remote.RID()] != nil {
		t.mu.Unlock()
		t.log.Debug("unexpected remote track ignored", "mid", mid, "rid", remote.RID())
		return
	}
	id := t.cfg.ID + "-" + mid
	if remote.RID() != "" {
		id += ":" + remote.RID()
	}
	codec := remote.Codec().RTPCodecCapability
	st := sfu.NewTrack(sfu.TrackConfig{ID: id, Kind: remote.Kind(), Codec: codec, PayloadType: uint8(remote.Codec().PayloadType),
		Keyframe: t.pliSender(remote)})
	to.published[remote.RID()] = st
	op := to.op
	desc := protocol.RTCTrack{ID: id, Mid: mid, Rid: remote.RID(), Type: remote.Kind().String(), Format: sfu.FormatOf(codec)}
	evs := []pendingEvent{{controller: op.controller, ev: protocol.RTCEvent{
		Type: protocol.RTCEventTrack, OperationID: op.id, Track: &desc,
	}}}
	if !op.completed && publicationComplete(op) {
		op.completed = true
		evs = append(evs, pendingEvent{controller: op.controller,
			ev: protocol.RTCEvent{Type: protocol.RTCEventComplete, OperationID: op.id}})
	}
	video := remote.Kind() == webrtc.RTPCodecTypeVideo
	if video && remote.RID() != "" {
		t.startDemand()
	}
	t.wg.Add(2)
	if video {
		t.wg.Add(1)
	}
	t.mu.Unlock()
	t.cfg.Listener.TrackPublished(st)
	t.emit(evs)
	go func() {
		defer t.wg.Done()
		readLoop(remote, st)
	}()
	if video {
		go func() {
			defer t.wg.Done()
			t.reportSizes(st, op, desc)
		}()
	}
	go func() {
		defer t.wg.Done()
		receiverRTCPLoop(recv, remote.RID(), st)
	}()
}

// reportSizes sends the track event again, with the picture size, whenever the size of
// the track's keyframes changes (browsers start small and grow as their bandwidth estimate
// does): the conference agent learns which simulcast layer is the largest and which
// smaller sizes it may offer. It returns when the track closes.
func (t *Transport) reportSizes(st *sfu.Track, op *operation, desc protocol.RTCTrack) {
	for {
		select {
		case <-st.Done():
			return
		case <-st.SizeChanged():
		}
		w, h := st.Size()
		tr := desc
		tr.Parameters = &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: w, Height: h}}
		t.emit([]pendingEvent{{controller: op.controller, ev: protocol.RTCEvent{
			Type: protocol.RTCEventTrack, OperationID: op.id, Track: &tr}}})
	}
}

// publicationComplete reports whether every mid of a publication has a track.
func publicationComplete(op *operation) bool {
	for _, to := range op.tracks {
		if len(to.published) == 0 {
			return false
		}
	}
	return true
}

// readLoop feeds a publication track until the remote track ends.
func readLoop(remote *webrtc.TrackRemote, st *sfu.Track) {
	buf := make([]byte, 1500)
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			return
		}
		st.Forward(buf[:n])
	}
}

// receiverRTCPLoop drains the publisher's RTCP for one track (rid) until the receiver
// closes. Reading drives pion's receive-side interceptors (the receiver reports use the
// Sender Reports' LSR), and the track's Sender Reports go on to its media-link exports.
func receiverRTCPLoop(recv *webrtc.RTPReceiver, rid string, st *sfu.Track) {
	buf := make([]byte, 1500)
	failures := 0
	for {
		n, _, err := recv.ReadSimulcast(buf, rid)
		if err != nil {
			if rtcpReadEnded(err, &failures) {
				return
			}
			continue
		}
		failures = 0
		if pkts, err := rtcp.Unmarshal(buf[:n]); err == nil {
			st.ForwardSenderReports(pkts)
		}
	}
}

// maxRTCPFailures ends an RTCP read loop that only fails: whatever the error, nothing more
// will be read.
const maxRTCPFailures = 100

// rtcpReadEnded tells an RTCP read loop whether err ends it: the stream closed, or too many
// failures in a row. Other errors come from an interceptor that could not use one compound
// packet (e.g. the congestion controller refusing a malformed transport-wide-cc feedback):
// the packet is lost, not the stream, and the loop must go on or the subscriber's NACKs and
// keyframe requests would never be read again.
func rtcpReadEnded(err error, failures *int) bool {
	*failures++
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, gcc.ErrSendSideBWEClosed) || *failures >= maxRTCPFailures
}

// pliSender returns a function asking the client for a keyframe of remote (RFC 4585 PLI).
func (t *Transport) pliSender(remote *webrtc.TrackRemote) func() {
	return func() {
		t.mu.Lock()
		pc := t.pc
		t.mu.Unlock()
		if pc != nil {
			_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(remote.SSRC())}})
		}
	}
}

// midOf finds the mid of a receiver's transceiver.
func (t *Transport) midOf(recv *webrtc.RTPReceiver) string {
	t.mu.Lock()
	pc := t.pc
	t.mu.Unlock()
	if pc == nil {
		return ""
	}
	for _, tr := range pc.GetTransceivers() {
		if tr.Receiver() == recv {
			return tr.Mid()
		}
	}
	return ""
}

// startRTCPLoop reads a subscription sender's RTCP, which drives pion's interceptors (NACK
// responder, reports) and forwards keyframe requests to the source. It ends when the
// sender stops (PeerConnection closed).
func (t *Transport) startRTCPLoop(sender *webrtc.RTPSender, down *sfu.DownTrack) {
	if sender == nil {
		return
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.wg.Add(1)
	t.mu.Unlock()
	go func() {
		defer t.wg.Done()
		buf := make([]byte, 1500)
		failures := 0
		for {
			n, attrs, err := sender.Read(buf)
			if err != nil {
				if rtcpReadEnded(err, &failures) {
					return
				}
				continue
			}
			failures = 0
			// The report interceptor has parsed the packets already; Attributes hands its
			// result over instead of a second parse (ReadRTCP also allocates a buffer per
			// call).
			if pkts, err := attrs.GetRTCPPackets(buf[:n]); err == nil {
				t.noteFeedback(pkts)
				down.HandleRTCP(pkts)
			}
		}
	}()
}

// onState reports ready on the first connection and failed when ICE/DTLS fails or the
// connection closes unexpectedly.
func (t *Transport) onState(pc *webrtc.PeerConnection, s webrtc.PeerConnectionState) {
	t.mu.Lock()
	if t.pc != pc { // a discarded PeerConnection (failed first offer)
		t.mu.Unlock()
		return
	}
	var evs []pendingEvent
	var release []*sfu.DownTrack
	reason := ""
	switch s {
	case webrtc.PeerConnectionStateConnected:
		if !t.connected {
			t.connected = true
			release = t.subscriptionDownsLocked()
			evs = append(evs, pendingEvent{controller: t.controllerLocked(), ev: protocol.RTCEvent{Type: protocol.RTCEventReady}})
			evs = append(evs, t.completeSubscriptionsLocked()...)
		}
	case webrtc.PeerConnectionStateFailed:
		reason = "ICE/DTLS failed"
	case webrtc.PeerConnectionStateClosed:
		reason = "peer connection closed"
	}
	if reason != "" && (t.closed || t.failed) {
		reason = "" // closed by us, or already reported
	}
	if reason != "" {
		t.failed = true
		evs = append(evs, pendingEvent{controller: t.controllerLocked(),
			ev: protocol.RTCEvent{Type: protocol.RTCEventFailed, Reason: reason}})
	}
	t.mu.Unlock()
	for _, d := range release {
		d.Release() // media can flow now: each starts at a keyframe it asks for
	}
	t.emit(evs)
	if reason != "" {
		t.cfg.Listener.Failed(t, reason)
	}
}

// subscriptionDownsLocked returns the down-tracks of every subscription on the transport.
func (t *Transport) subscriptionDownsLocked() []*sfu.DownTrack {
	var out []*sfu.DownTrack
	for _, op := range t.ops {
		if op.publish {
			continue
		}
		for _, to := range op.tracks {
			if to.down != nil {
				out = append(out, to.down)
			}
		}
	}
	return out
}
