package transport

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
	"github.com/pion/webrtc/v4"
)

// planAction is what negotiation does with one m-section of an offer.
type planAction int

const (
	actKeep   planAction = iota // already negotiated and still wanted
	actAccept                   // new, belongs to a registered operation
	actReject                   // unknown, mismatched or of a terminated operation: answered inactive
)

// planItem is the decision for one m-section.
type planItem struct {
	m      offerMedia
	action planAction
	to     *trackOp
	codec  webrtc.RTPCodecParameters
}

// Offer applies a client offer (first or re-offer) and returns the full answer SDP, with
// every local candidate in it (gathering is awaited, as OWT does). A failed offer leaves
// the transport as it was: a new PeerConnection is discarded, a re-offer rolled back.
func (t *Transport) Offer(ctx context.Context, offer string) (string, error) {
	media, err := parseOffer(offer)
	if err != nil {
		return "", err
	}
	t.negMu.Lock()
	defer t.negMu.Unlock()
	pc, fresh, err := t.peerConnection()
	if err != nil {
		return "", err
	}
	plan, evs, err := t.plan(pc, media)
	if err == nil {
		var answer string
		if answer, err = t.negotiate(ctx, pc, plan, offer); err == nil {
			t.emit(append(evs, t.commit(plan)...))
			return answer, nil
		}
	}
	t.undo(pc, fresh)
	return "", err
}

// peerConnection returns the transport's PeerConnection, creating it on the first offer.
func (t *Transport) peerConnection() (*webrtc.PeerConnection, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, false, ErrClosed
	}
	if t.pc != nil {
		return t.pc, false, nil
	}
	pc, bwe, err := t.cfg.Engine.newPeerConnection()
	if err != nil {
		return nil, false, fmt.Errorf("transport: new peer connection: %w", err)
	}
	t.pc, t.bwe = pc, bwe
	t.startAllocator()
	pc.OnTrack(t.onTrack)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) { t.onState(pc, s) })
	return pc, true, nil
}

// undo discards a fresh PeerConnection or rolls a re-offer back.
func (t *Transport) undo(pc *webrtc.PeerConnection, fresh bool) {
	if !fresh {
		if pc.SignalingState() == webrtc.SignalingStateHaveRemoteOffer {
			_ = pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback})
		}
		return
	}
	t.mu.Lock()
	if t.pc == pc {
		t.pc = nil
	}
	t.mu.Unlock()
	_ = pc.GracefulClose()
}

// plan decides, under the lock, what to do with each m-section.
func (t *Transport) plan(pc *webrtc.PeerConnection, media []offerMedia) ([]planItem, []pendingEvent, error) {
	known := map[string]bool{}
	for _, tr := range pc.GetTransceivers() {
		known[tr.Mid()] = true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var plan []planItem
	var evs []pendingEvent
	for _, m := range media {
		if m.kind == 0 {
			continue // data channels are not part of OWT media; pion answers them itself
		}
		item := planItem{m: m, action: actReject, to: t.mids[m.mid]}
		switch {
		case m.closed() || item.to == nil:
		case known[m.mid]:
			item.action = actKeep
		default:
			reason, err := t.accept(&item)
			if err != nil {
				return nil, nil, err
			}
			if reason != "" {
				evs = append(evs, pendingEvent{controller: item.to.op.controller, ev: protocol.RTCEvent{
					Type: protocol.RTCEventError, OperationID: item.to.op.id, Reason: reason}})
				t.log.Warn("m-section rejected", "mid", m.mid, "reason", reason)
			}
		}
		plan = append(plan, item)
	}
	return plan, evs, nil
}

// accept checks a new m-section against its registered track and picks its codec. A
// mismatch rejects the m-section (reason returned); no acceptable codec fails the offer.
func (t *Transport) accept(item *planItem) (string, error) {
	to, m := item.to, item.m
	wantDir := webrtc.RTPTransceiverDirectionRecvonly // the client receives a subscription
	if to.op.publish {
		wantDir = webrtc.RTPTransceiverDirectionSendonly
	}
	switch {
	case m.kind != to.kind:
		return fmt.Sprintf("mid %s is %s, expected %s", m.mid, m.kind, to.kind), nil
	case m.direction != wantDir:
		return fmt.Sprintf("mid %s is %s, expected %s", m.mid, m.direction, wantDir), nil
	}
	codec, ok := chooseCodec(to, m.codecs)
	if !ok {
		return "", fmt.Errorf("%w: No proper %s codec for mid %s", ErrNoCodec, m.kind, m.mid)
	}
	item.action, item.codec = actAccept, codec
	return "", nil
}

// chooseCodec picks the codec of an m-section: for a publication the first of the
// operation's formats (preference order) that the client offers, for a subscription the
// source's codec.
func chooseCodec(to *trackOp, offered []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, bool) {
	usable := offered[:0:0]
	for _, c := range offered {
		if supported(c.RTPCodecCapability) {
			usable = append(usable, c)
		}
	}
	if to.down != nil {
		for _, c := range usable {
			if sfu.SameCodec(c.RTPCodecCapability, to.down.Codec()) {
				return c, true
			}
		}
		return webrtc.RTPCodecParameters{}, false
	}
	for _, f := range to.formats {
		for _, c := range usable {
			if sfu.FormatMatches(f, c.RTPCodecCapability) {
				return c, true
			}
		}
	}
	return webrtc.RTPCodecParameters{}, false
}

// supported reports whether the engine registered codec c (H.264 only with
// packetization-mode=1).
func supported(c webrtc.RTPCodecCapability) bool {
	for _, r := range sfu.Codecs() {
		if !sfu.SameCodec(r.RTPCodecCapability, c) {
			continue
		}
		if sfu.FormatOf(c).Codec == "h264" && !strings.Contains(strings.ReplaceAll(c.SDPFmtpLine, " ", ""), "packetization-mode=1") {
			return false
		}
		return true
	}
	return false
}

// negotiate creates transceivers for accepted mids, applies the offer, rejects what must
// be rejected, and produces the answer once gathering completes.
func (t *Transport) negotiate(ctx context.Context, pc *webrtc.PeerConnection, plan []planItem, offer string) (string, error) {
	for _, it := range plan {
		if it.action == actAccept {
			if err := t.addTransceiver(pc, it); err != nil {
				return "", err
			}
		}
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadSDP, err)
	}
	byMid := map[string]*webrtc.RTPTransceiver{}
	for _, tr := range pc.GetTransceivers() {
		byMid[tr.Mid()] = tr
	}
	for _, it := range plan {
		tr := byMid[it.m.mid]
		if tr == nil {
			continue
		}
		switch it.action {
		case actReject:
			_ = tr.Stop()
		case actAccept:
			if err := tr.SetCodecPreferences([]webrtc.RTPCodecParameters{it.codec}); err != nil {
				return "", fmt.Errorf("%w: mid %s: %w", ErrNoCodec, it.m.mid, err)
			}
		}
	}
	return t.answer(ctx, pc)
}

// addTransceiver creates the transceiver of an accepted new mid before the offer is
// applied, so pion matches it by mid: recvonly for a publication, sendonly with the
// down-track for a subscription.
func (t *Transport) addTransceiver(pc *webrtc.PeerConnection, it planItem) error {
	var tr *webrtc.RTPTransceiver
	var err error
	if it.to.down != nil {
		tr, err = pc.AddTransceiverFromTrack(it.to.down,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	} else {
		tr, err = pc.AddTransceiverFromKind(it.to.kind,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
	}
	if err == nil {
		err = tr.SetMid(it.m.mid)
	}
	if err != nil {
		return fmt.Errorf("transport: transceiver for mid %s: %w", it.m.mid, err)
	}
	if it.to.down != nil {
		t.startRTCPLoop(tr.Sender(), it.to.down)
	}
	return nil
}

// answer creates and applies the answer and waits for ICE gathering.
func (t *Transport) answer(ctx context.Context, pc *webrtc.PeerConnection) (string, error) {
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: create answer: %w", ErrBadSDP, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("%w: set answer: %w", ErrBadSDP, err)
	}
	timer := time.NewTimer(t.cfg.GatherTimeout)
	defer timer.Stop()
	select {
	case <-gathered:
	case <-timer.C:
		t.log.Warn("ICE gathering incomplete, answering with the candidates found so far")
	case <-ctx.Done():
		return "", fmt.Errorf("transport: waiting for ICE gathering: %w", ctx.Err())
	}
	return pc.LocalDescription().SDP, nil
}

// commit marks accepted mids negotiated and reports subscriptions that became complete.
func (t *Transport) commit(plan []planItem) []pendingEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, it := range plan {
		if it.action == actAccept || it.action == actKeep {
			it.to.negotiated = true
		}
	}
	return t.completeSubscriptionsLocked()
}

// completeSubscriptionsLocked reports subscriptions whose transport is connected and whose
// mids are all negotiated.
func (t *Transport) completeSubscriptionsLocked() []pendingEvent {
	if !t.connected {
		return nil
	}
	var evs []pendingEvent
	for _, op := range t.ops {
		if op.publish || op.completed {
			continue
		}
		done := true
		for _, to := range op.tracks {
			done = done && to.negotiated
		}
		if done {
			op.completed = true
			evs = append(evs, pendingEvent{controller: op.controller,
				ev: protocol.RTCEvent{Type: protocol.RTCEventComplete, OperationID: op.id}})
		}
	}
	return evs
}

// ClientCandidate is a trickled candidate as the OWT JS SDK sends it.
type ClientCandidate struct {
	Candidate     string  `json:"candidate"` // "a=candidate:…"
	SDPMid        *string `json:"sdpMid"`
	SDPMLineIndex *uint16 `json:"sdpMLineIndex"`
}

// AddCandidate adds a trickled remote candidate, stripping the "a=" prefix the JS SDK adds.
// An empty candidate (end of candidates) is ignored.
func (t *Transport) AddCandidate(c ClientCandidate) error {
	cand := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(c.Candidate), "a="))
	if cand == "" {
		return nil
	}
	if !strings.HasPrefix(cand, "candidate:") {
		return fmt.Errorf("%w: %q", ErrBadCandidate, c.Candidate)
	}
	t.mu.Lock()
	pc := t.pc
	t.mu.Unlock()
	if pc == nil || pc.RemoteDescription() == nil {
		return ErrNotReady
	}
	err := pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: cand, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadCandidate, err)
	}
	return nil
}
