package room

import (
	"context"
	"errors"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/store"
)

// Track kinds.
const (
	kindAudio = "audio"
	kindVideo = "video"
	kindAV    = "av"
)

// msgUnpublished is what a publisher hears when someone else (an admin) removed its stream.
const msgUnpublished = "Stream is unpublished"

// Publish registers a publication (OWT conference.js publish; checks in OWT's order), places
// its transport and asks the webrtc agent to expect the client's offer. The stream exists for
// the others once its tracks are set up and the transport is up (HandleRTC).
func (r *Room) Publish(ctx context.Context, req protocol.PublishRequest) (protocol.OperationResult, error) {
	if req.TransportID == "" {
		req.TransportID = req.StreamID
	}
	pub, t, origin, isNew, err := r.preparePublish(req)
	if err != nil {
		return protocol.OperationResult{}, err
	}
	agent, err := r.placeAndCall(ctx, t, origin, func(agent string) error {
		return r.deps.RTC.Publish(ctx, agent, protocol.RTCPublish{
			RoomID: r.id, Controller: r.deps.Controller, Owner: req.ParticipantID,
			TransportID: t.id, OperationID: pub.id, Tracks: r.pubTracks(req.Tracks),
		})
	})
	if err != nil {
		r.abort(pub.id, t, isNew)
		return protocol.OperationResult{}, errs.As(err)
	}
	r.confirm(pub.id, t, agent)
	return protocol.OperationResult{ID: pub.id, TransportID: t.id}, nil
}

// preparePublish checks a publication and records it as pending.
func (r *Room) preparePublish(req protocol.PublishRequest) (*publication, *transport, store.Preference, bool, error) {
	var none store.Preference
	if err := r.lockOpen(); err != nil {
		return nil, nil, none, false, err
	}
	defer r.mu.Unlock()
	p, ok := r.participants[req.ParticipantID]
	if !ok {
		return nil, nil, none, false, failure(msgNotJoined)
	}
	if err := r.checkPublish(p, req); err != nil {
		return nil, nil, none, false, err
	}
	t, isNew, err := r.claimTransport(p.info.ID, req.TransportID, req.Legacy)
	if err != nil {
		return nil, nil, none, false, err
	}
	pub := &publication{
		seq: r.nextSeq(), id: req.StreamID, owner: p.info.ID, transport: t.id,
		requested: append([]protocol.PubTrack(nil), req.Tracks...), attributes: req.Attributes,
		data: req.Data, inViews: []string{}, muted: map[string]bool{},
		infoType: infoWebRTC, origin: p.origin,
	}
	r.pubs[pub.id] = pub
	t.ops[pub.id] = true
	r.touch()
	return pub, t, p.origin, isNew, nil
}

// checkPublish applies OWT's publish checks in order; r.mu is held.
func (r *Room) checkPublish(p *participant, req protocol.PublishRequest) error {
	if req.StreamID == "" || len(req.Tracks) == 0 {
		return failure(msgInvalidTracks)
	}
	audio, video := false, false
	for _, t := range req.Tracks {
		switch t.Type {
		case kindAudio:
			audio = true
		case kindVideo:
			video = true
		default:
			return failure(msgInvalidTracks)
		}
	}
	if (audio && !p.perm.Publish.Audio) || (video && !p.perm.Publish.Video) {
		return failure(msgUnauthorized)
	}
	if limit := r.cfg.InputLimit; limit >= 0 && limit <= len(r.pubs) {
		return failure(msgTooManyInputs)
	}
	if r.streamByID(req.StreamID) != nil || r.mixOf(req.StreamID) != nil {
		return failure(msgStreamExists)
	}
	if audio && len(r.cfg.MediaIn.Audio) == 0 {
		return failure(msgAudioForbidden)
	}
	if video && len(r.cfg.MediaIn.Video) == 0 {
		return failure(msgVideoForbidden)
	}
	return nil
}

// pubTracks lists the client's tracks with the formats the room accepts (mediaIn).
func (r *Room) pubTracks(tracks []protocol.PubTrack) []protocol.RTCPubTrack {
	out := make([]protocol.RTCPubTrack, 0, len(tracks))
	for _, t := range tracks {
		out = append(out, protocol.RTCPubTrack{Mid: t.Mid, Type: t.Type, Source: t.Source, Formats: r.mediaIn(t.Type)})
	}
	return out
}

// mediaIn returns the room's accepted formats of kind, in preference order.
func (r *Room) mediaIn(kind string) []protocol.Format {
	var out []protocol.Format
	if kind == kindAudio {
		for _, f := range r.cfg.MediaIn.Audio {
			out = append(out, protocol.Format{Codec: f.Codec, SampleRate: f.SampleRate, ChannelNum: f.ChannelNum})
		}
		return out
	}
	for _, f := range r.cfg.MediaIn.Video {
		out = append(out, protocol.Format{Codec: f.Codec, Profile: f.Profile})
	}
	return out
}

// place returns the agent holding t, scheduling a webrtc agent for a new transport near the
// participant's origin.
func (r *Room) place(ctx context.Context, t *transport, origin store.Preference) (string, error) {
	r.mu.Lock()
	agent := t.agent
	r.mu.Unlock()
	if agent != "" {
		return agent, nil
	}
	w, err := r.deps.Scheduler.Schedule(ctx, PurposeWebRTC, t.id, origin)
	if err != nil {
		r.log.Warn("no webrtc agent for transport", "transport", t.id, "err", err)
		return "", errs.Cluster("No webrtc agent available")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.transports[t.id] != t {
		return "", transportMissing(t.id)
	}
	if t.agent == "" {
		t.agent = w.ID
	}
	return t.agent, nil
}

// maxPlacements bounds the agents placeAndCall tries for one operation.
const maxPlacements = 3

// placeAndCall places t (place) and makes the operation's first call to its agent. When the
// transport was placed by this call and its agent has no RPC endpoint (bus.ErrNoEndpoint: the
// agent died and its last beats have not expired yet, as right after a kill -9 and a restart),
// the scheduler forgets that agent and the transport is placed on another live one, up to
// maxPlacements agents, instead of failing the join.
func (r *Room) placeAndCall(ctx context.Context, t *transport, origin store.Preference, call func(agent string) error) (string, error) {
	for try := 1; ; try++ {
		r.mu.Lock()
		fresh := t.agent == ""
		r.mu.Unlock()
		agent, err := r.place(ctx, t, origin)
		if err != nil {
			return "", err
		}
		err = call(agent)
		if !fresh || try == maxPlacements || !errors.Is(err, bus.ErrNoEndpoint) {
			return agent, err
		}
		r.log.Warn("webrtc agent unreachable, placing the transport on another", "agent", agent, "transport", t.id)
		r.deps.Scheduler.Forget(agent)
		r.unplace(t, agent)
	}
}

// unplace undoes place for a transport placed on agent that turned out unreachable.
func (r *Room) unplace(t *transport, agent string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t.agent == agent {
		t.agent = ""
	}
}

// abort forgets a pending operation whose set-up failed, and its transport if the operation
// created it and nothing else uses it.
func (r *Room) abort(opID string, t *transport, isNew bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.pubs, opID)
	delete(r.subs, opID)
	delete(t.ops, opID)
	if (isNew || t.legacy) && len(t.ops) == 0 && r.transports[t.id] == t {
		r.endTransport(t, "", true)
	}
	r.touch()
}

// confirm checks that an operation set up on agent still exists (the participant may have
// left meanwhile) and otherwise ends it there.
func (r *Room) confirm(opID string, t *transport, agent string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pubs[opID] == nil && r.subs[opID] == nil {
		r.deps.RTC.Terminate(agent, protocol.RTCOperation{TransportID: t.id, OperationID: opID})
	}
}

// Unpublish removes a publication (pending or live). OWT does not check ownership here (any
// participant may unpublish any stream); participantID "" is the management API.
func (r *Room) Unpublish(participantID, streamID string) error {
	if err := r.lockOpen(); err != nil {
		return err
	}
	defer r.mu.Unlock()
	if _, ok := r.participants[participantID]; !ok && participantID != "" {
		return failure(msgNotJoined)
	}
	pub, ok := r.pubs[streamID]
	if !ok {
		return failure(msgStreamNotExist)
	}
	reason := msgParticipantLeft
	if participantID != pub.owner {
		reason = msgUnpublished
	}
	r.endPublication(pub, reason, true)
	return nil
}
