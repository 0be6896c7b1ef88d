package room

import (
	"context"
	"slices"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// roleAdmin is the role name OWT lets control anyone's streams and subscriptions.
const roleAdmin = "admin"

// resultOK is the stream-control answer of OWT ('ok').
const resultOK = "ok"

// StreamControl serves stream-control (owt-protocol.md §4.3): only the owner or a participant
// whose role is `admin` may pause/play a stream or change its views. Mixed streams do not
// exist yet, so get-region/set-region fail.
func (r *Room) StreamControl(ctx context.Context, req protocol.ControlRequest) (any, error) {
	cmd, has, err := r.checkStreamControl(req)
	if err != nil {
		return nil, err
	}
	switch cmd.op {
	case opPause, opPlay:
		kinds := controlKinds(cmd.kind, has)
		if len(kinds) == 0 {
			return nil, failure(msgTrackNotExist)
		}
		return resultOK, r.setActive(ctx, req.ID, kinds, cmd.op == opPlay)
	case opMix, opUnmix:
		return resultOK, r.setInView(req.ID, cmd.view, cmd.op == opMix, failure)
	case opGetRegion:
		region, err := r.getRegion(req.ID, cmd.view)
		if err != nil {
			return nil, err
		}
		return map[string]string{"region": region}, nil
	case opSetRegion:
		return resultOK, r.setRegion(ctx, req.ID, cmd.view, cmd.region, failure)
	}
	return nil, failure(msgInvalidStreamOp)
}

// checkStreamControl checks the participant, the stream and the right to control it, then
// decodes the operation.
func (r *Room) checkStreamControl(req protocol.ControlRequest) (streamCommand, func(string) bool, error) {
	if err := r.lockOpen(); err != nil {
		return streamCommand{}, nil, err
	}
	defer r.mu.Unlock()
	p, ok := r.participants[req.ParticipantID]
	if !ok {
		return streamCommand{}, nil, failure(msgNotJoined)
	}
	pub := r.pubs[req.ID]
	if m := r.mixOf(req.ID); m != nil && m.pub != nil {
		return streamCommand{}, nil, failure(msgStreamIsMixed)
	}
	if pub == nil || !pub.ready {
		return streamCommand{}, nil, failure(msgStreamNotExist)
	}
	if pub.owner != p.info.ID && p.info.Role != roleAdmin {
		return streamCommand{}, nil, failure(msgUnauthorized)
	}
	cmd, err := parseStreamControl(req.Operation, req.Data)
	kinds := pub.kinds()
	return cmd, func(k string) bool { return kinds[k] }, err
}

// kinds returns the kinds the publication has.
func (p *publication) kinds() map[string]bool {
	out := map[string]bool{}
	for _, t := range p.tracks {
		out[t.Type] = true
	}
	return out
}

// setActive mutes or unmutes kinds of a stream at its source (rtc.control), then tells
// everyone (`stream update` audio.status / video.status).
func (r *Room) setActive(ctx context.Context, streamID string, kinds []string, active bool) error {
	if err := r.lockOpen(); err != nil {
		return err
	}
	pub := r.pubs[streamID]
	if pub == nil {
		r.mu.Unlock()
		return failure(msgStreamNotExist)
	}
	agent := r.trackRef(pub, "").Agent
	ctl := protocol.RTCControl{TransportID: pub.transport, OperationID: pub.id, Kind: rtcKind(kinds), Active: &active}
	r.mu.Unlock()
	if err := r.deps.RTC.Control(ctx, agent, ctl); err != nil {
		return errs.As(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pubs[streamID] != pub {
		return failure(msgStreamNotExist)
	}
	value := "active"
	if !active {
		value = "inactive"
	}
	for _, k := range kinds {
		pub.muted[k] = !active
		if pub.announced && r.cfg.Notifying.StreamChange {
			r.broadcast(protocol.EventStream, protocol.StreamEvent{ID: pub.id, Status: "update",
				Data: protocol.StreamUpdate{Field: k + ".status", Value: value}})
		}
	}
	return nil
}

// setInView adds a stream to (or removes it from) a view's inputs (`info.inViews`). The view
// must exist; fail builds the error for the caller's audience.
func (r *Room) setInView(streamID, view string, add bool, fail func(string) *errs.Error) error {
	if err := r.lockOpen(); err != nil {
		return err
	}
	defer r.mu.Unlock()
	pub := r.pubs[streamID]
	if pub == nil {
		return failure(msgStreamNotExist)
	}
	if _, ok := r.cfg.View(view); !ok {
		return fail(msgInvalidView + view)
	}
	i := slices.Index(pub.inViews, view)
	switch {
	case add && i < 0:
		pub.inViews = append(pub.inViews, view)
	case !add && i >= 0:
		pub.inViews = slices.Delete(pub.inViews, i, i+1)
	}
	r.mixMembership(pub.id, view, add)
	return nil
}

// SubscriptionControl serves subscription-control: pause/play the subscription's kinds or
// `update` it to another source track (a simulcast layer or another stream).
func (r *Room) SubscriptionControl(ctx context.Context, req protocol.ControlRequest) error {
	has, err := r.checkSubscriptionControl(req)
	if err != nil {
		return err
	}
	switch req.Operation {
	case opPause, opPlay:
		kind, err := decodeKind(req.Data)
		if err != nil {
			return err
		}
		kinds := controlKinds(kind, has)
		if len(kinds) == 0 {
			return failure(msgTrackNotExist)
		}
		active := req.Operation == opPlay
		return r.subControl(ctx, req.ID, protocol.RTCControl{Kind: rtcKind(kinds), Active: &active})
	case opUpdate:
		u, err := parseSubscriptionUpdate(req.Data)
		if err != nil {
			return err
		}
		return r.updateSubscription(ctx, req.ID, u)
	}
	return failure(msgInvalidSubOp)
}

// checkSubscriptionControl checks the participant, the subscription and the right to control
// it, and returns which kinds the subscription receives.
func (r *Room) checkSubscriptionControl(req protocol.ControlRequest) (func(string) bool, error) {
	if err := r.lockOpen(); err != nil {
		return nil, err
	}
	defer r.mu.Unlock()
	p, ok := r.participants[req.ParticipantID]
	if !ok {
		return nil, failure(msgNotJoined)
	}
	s := r.subs[req.ID]
	if s == nil {
		return nil, failure(msgSubNotExist)
	}
	if s.owner != p.info.ID && p.info.Role != roleAdmin {
		return nil, failure(msgUnauthorized)
	}
	kinds := map[string]bool{}
	for _, t := range s.tracks {
		kinds[t.kind] = true
	}
	return func(k string) bool { return kinds[k] }, nil
}

// subControl sends rtc.control for subscription id to its transport's agent.
func (r *Room) subControl(ctx context.Context, id string, ctl protocol.RTCControl) error {
	if err := r.lockOpen(); err != nil {
		return err
	}
	s := r.subs[id]
	if s == nil {
		r.mu.Unlock()
		return failure(msgSubNotExist)
	}
	agent := ""
	if t := r.transports[s.transport]; t != nil {
		agent = t.agent
	}
	ctl.TransportID, ctl.OperationID = s.transport, s.id
	r.mu.Unlock()
	if err := r.deps.RTC.Control(ctx, agent, ctl); err != nil {
		return errs.As(err)
	}
	return nil
}

// updateSubscription re-points the video of a subscription (rtc.control Layer). Only what the
// source already delivers is acceptable: parameters must be the new source's own and an audio
// change of source is not supported, as OWT answers `Update subscription failed`.
func (r *Room) updateSubscription(ctx context.Context, id string, u subscriptionUpdate) error {
	next, changed, err := r.planUpdate(id, u)
	if err != nil || !changed {
		return err
	}
	if err := r.subControl(ctx, id, protocol.RTCControl{Kind: kindVideo, Layer: &next.source}); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.subs[id]; s != nil {
		for i := range s.tracks {
			if s.tracks[i].kind == kindVideo {
				next.mid = s.tracks[i].mid
				s.tracks[i] = next
			}
		}
	}
	return nil
}

// planUpdate computes the subscription's new video track; changed is false when nothing
// changes.
func (r *Room) planUpdate(id string, u subscriptionUpdate) (subTrack, bool, error) {
	if err := r.lockOpen(); err != nil {
		return subTrack{}, false, err
	}
	defer r.mu.Unlock()
	s := r.subs[id]
	if s == nil {
		return subTrack{}, false, failure(msgSubNotExist)
	}
	if u.Audio != nil && u.Audio.From != "" && !s.fromMatches(kindAudio, u.Audio.From) {
		return subTrack{}, false, failure(msgUpdateSubFailed)
	}
	cur, ok := s.track(kindVideo)
	if u.Video == nil {
		return subTrack{}, false, nil
	}
	if !ok || cur.xcodeID != "" {
		// A transcoded track keeps its source and parameters (no re-transcoding on update).
		return subTrack{}, false, failure(msgUpdateSubFailed)
	}
	next := cur
	if from := u.Video.From; from != "" && !s.fromMatches(kindVideo, from) {
		req := protocol.SubTrack{Type: kindVideo, From: from, Format: &cur.format}
		st, err := r.resolveSubTrack(req)
		if err != nil || st.xcode != nil {
			return subTrack{}, false, failure(msgUpdateSubFailed)
		}
		next = st
	}
	if p := u.Video.Parameters; p != nil && parametersProblem(*p, next.params) != "" {
		return subTrack{}, false, failure(msgUpdateSubFailed)
	}
	return next, next.source != cur.source, nil
}

// track returns the subscription's track of kind.
func (s *subscription) track(kind string) (subTrack, bool) {
	for _, t := range s.tracks {
		if t.kind == kind {
			return t, true
		}
	}
	return subTrack{}, false
}

// fromMatches reports whether from names the current source of kind (its stream or track).
func (s *subscription) fromMatches(kind, from string) bool {
	t, ok := s.track(kind)
	return ok && (t.source.TrackID == from || (t.stream == from && len(t.layers) == 0))
}

// signalingTypes are the soac message types a client may send.
var signalingTypes = []string{"offer", "answer", "candidate", "removed-candidates"}

// Signaling hands a client's soac message to the agent holding its transport.
func (r *Room) Signaling(ctx context.Context, req protocol.SignalingRequest) error {
	if !slices.Contains(signalingTypes, req.Signaling.Type) {
		return failure("Invalid signaling type")
	}
	if err := r.lockOpen(); err != nil {
		return err
	}
	if _, ok := r.participants[req.ParticipantID]; !ok {
		r.mu.Unlock()
		return failure(msgNotJoined)
	}
	t := r.transports[req.TransportID]
	if t == nil || t.owner != req.ParticipantID {
		r.mu.Unlock()
		return transportMissing(req.TransportID)
	}
	agent := t.agent
	r.mu.Unlock()
	if agent == "" {
		return failure("Transport " + req.TransportID + " locality is NOT ready")
	}
	err := r.deps.RTC.Signaling(ctx, agent, protocol.RTCSignaling{TransportID: req.TransportID, Signaling: req.Signaling})
	if err != nil {
		return errs.As(err)
	}
	return nil
}
