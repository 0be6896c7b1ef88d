package room

import (
	"cmp"
	"context"
	"slices"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/store"
)

// Subscribe registers a subscription (OWT conference.js subscribe, checks in OWT's order):
// each track forwards its source track unchanged (this server does not transcode, so only the
// source's own format and parameters are acceptable); a simulcast source starts on its highest
// layer unless `from` names a layer.
func (r *Room) Subscribe(ctx context.Context, req protocol.SubscribeRequest) (protocol.OperationResult, error) {
	if req.TransportID == "" {
		req.TransportID = req.SubscriptionID
	}
	s, t, origin, isNew, err := r.prepareSubscribe(req)
	if err != nil {
		return protocol.OperationResult{}, err
	}
	err = r.startXcodes(ctx, s)
	var agent string
	if err == nil {
		agent, err = r.placeAndCall(ctx, t, origin, func(agent string) error {
			return r.deps.RTC.Subscribe(ctx, agent, protocol.RTCSubscribe{
				RoomID: r.id, Controller: r.deps.Controller, Owner: req.ParticipantID,
				TransportID: t.id, OperationID: s.id, Tracks: r.rtcTracksOf(s),
			})
		})
	}
	if err != nil {
		r.abortSubscription(s, t, isNew)
		return protocol.OperationResult{}, errs.As(err)
	}
	r.confirm(s.id, t, agent)
	return protocol.OperationResult{ID: s.id, TransportID: t.id}, nil
}

// prepareSubscribe checks a subscription and records it as pending.
func (r *Room) prepareSubscribe(req protocol.SubscribeRequest) (*subscription, *transport, store.Preference, bool, error) {
	var none store.Preference
	if err := r.lockOpen(); err != nil {
		return nil, nil, none, false, err
	}
	defer r.mu.Unlock()
	p, ok := r.participants[req.ParticipantID]
	if !ok {
		return nil, nil, none, false, failure(msgNotJoined)
	}
	tracks, err := r.checkSubscribe(p, req)
	if err != nil {
		return nil, nil, none, false, err
	}
	t, isNew, err := r.claimTransport(p.info.ID, req.TransportID, req.Legacy)
	if err != nil {
		return nil, nil, none, false, err
	}
	s := &subscription{id: req.SubscriptionID, owner: p.info.ID, transport: t.id, tracks: tracks}
	r.subs[s.id] = s
	t.ops[s.id] = true
	r.touch()
	return s, t, p.origin, isNew, nil
}

// checkSubscribe applies the permission, duplicate and source checks; r.mu is held.
func (r *Room) checkSubscribe(p *participant, req protocol.SubscribeRequest) ([]subTrack, error) {
	if req.SubscriptionID == "" || len(req.Tracks) == 0 {
		return nil, failure(msgInvalidTracks)
	}
	for _, t := range req.Tracks {
		if t.Type != kindAudio && t.Type != kindVideo {
			return nil, failure(msgInvalidTracks)
		}
		if (t.Type == kindAudio && !p.perm.Subscribe.Audio) || (t.Type == kindVideo && !p.perm.Subscribe.Video) {
			return nil, failure(msgUnauthorized)
		}
	}
	if _, exists := r.subs[req.SubscriptionID]; exists {
		return nil, failure(msgSubExists)
	}
	out := make([]subTrack, 0, len(req.Tracks))
	for _, t := range req.Tracks {
		st, err := r.resolveSubTrack(t)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// resolveSubTrack finds the source of one requested track and checks the requested format
// and parameters against it; r.mu is held.
func (r *Room) resolveSubTrack(req protocol.SubTrack) (subTrack, error) {
	pub, src, ok := r.sourceTrack(req.Type, req.From)
	if !ok {
		return subTrack{}, targetNotSatisfied(req.Type, "Requested "+req.Type+" stream")
	}
	plan, err := r.deliveryPlan(req, src)
	if err != nil {
		return subTrack{}, err
	}
	st := subTrack{
		kind: req.Type, mid: req.Mid, stream: pub.id, format: src.Format, params: src.Parameters,
		source: r.trackRef(pub, src.ID),
	}
	if plan != nil {
		// Transcoded from the chosen track (the highest simulcast layer by default).
		st.xcode = &protocol.XcodeStart{
			RoomID: r.id, Controller: r.deps.Controller, Format: plan.Format, Parameters: plan.Parameters,
			Source: protocol.SessionTrack{Source: st.source, Format: src.Format, Parameters: src.Parameters},
		}
		st.format = plan.Format
		return st, nil
	}
	if src.Rid != "" {
		for _, l := range pub.layers(src.Type, src.Mid) {
			st.layers = append(st.layers, r.trackRef(pub, l.ID))
		}
		st.chosen = req.From == src.ID
	}
	return st, nil
}

// trackRef locates a track of pub; r.mu is held.
func (r *Room) trackRef(pub *publication, trackID string) protocol.TrackRef {
	ref := protocol.TrackRef{TrackID: trackID, Agent: pub.agent}
	if t := r.transports[pub.transport]; t != nil {
		ref.Agent = t.agent
	}
	return ref
}

// sourceTrack resolves `from` for kind: a stream id (its first track of kind; for simulcast
// the highest layer) or a track id of a live stream; r.mu is held.
func (r *Room) sourceTrack(kind, from string) (*publication, protocol.TrackInfo, bool) {
	if pub := r.streamByID(from); pub != nil && pub.ready {
		for _, t := range pub.tracks {
			if t.Type == kind {
				if t.Rid != "" {
					return pub, pub.layers(kind, t.Mid)[0], true
				}
				return pub, t, true
			}
		}
		return nil, protocol.TrackInfo{}, false
	}
	for _, pub := range r.sortedPubs() {
		if !pub.ready {
			continue
		}
		for _, t := range pub.tracks {
			if t.ID == from && t.Type == kind {
				return pub, t, true
			}
		}
	}
	return nil, protocol.TrackInfo{}, false
}

// layers returns the simulcast layers of (kind, mid), highest resolution first (arrival
// order among equals or when the resolution is unknown).
func (p *publication) layers(kind, mid string) []protocol.TrackInfo {
	var out []protocol.TrackInfo
	for _, t := range p.tracks {
		if t.Type == kind && t.Mid == mid {
			out = append(out, t)
		}
	}
	slices.SortStableFunc(out, func(a, b protocol.TrackInfo) int { return cmp.Compare(area(b), area(a)) })
	return out
}

func area(t protocol.TrackInfo) int {
	if t.Parameters == nil || t.Parameters.Resolution == nil {
		return 0
	}
	return t.Parameters.Resolution.Width * t.Parameters.Resolution.Height
}

// parametersProblem returns OWT's reason when want asks for anything but the source's own
// parameters (have may be nil when the agent did not report them).
func parametersProblem(want protocol.VideoParameters, have *protocol.VideoParameters) string {
	if have == nil {
		have = &protocol.VideoParameters{}
	}
	switch {
	case want.Resolution != nil && (have.Resolution == nil || *want.Resolution != *have.Resolution):
		return msgResolutionNotOK
	case want.Framerate != 0 && want.Framerate != have.Framerate:
		return msgFramerateNotOK
	case want.Bitrate != nil && !unchangedBitrate(*want.Bitrate, have.Bitrate):
		return msgBitrateNotOK
	case want.KeyFrameInterval != 0 && want.KeyFrameInterval != have.KeyFrameInterval:
		return msgKFINotOK
	}
	return ""
}

// unchangedBitrate: OWT treats 'x1.0' and 'x1' as "as the source".
func unchangedBitrate(want protocol.Bitrate, have *protocol.Bitrate) bool {
	if want.Multiple != "" {
		return want.Multiple == "x1" || want.Multiple == "x1.0"
	}
	return have != nil && have.Multiple == "" && have.Kbps == want.Kbps
}

// sameFormat compares a requested format with a track's: the codec must match, and every
// field the request sets.
func sameFormat(want, have protocol.Format) bool {
	return want.Codec == have.Codec &&
		(want.SampleRate == 0 || want.SampleRate == have.SampleRate) &&
		(want.ChannelNum == 0 || want.ChannelNum == have.ChannelNum) &&
		(want.Profile == "" || want.Profile == have.Profile)
}

// rtcSubTracks converts subscription tracks for rtc.subscribe.
func rtcSubTracks(tracks []subTrack) []protocol.RTCSubTrack {
	out := make([]protocol.RTCSubTrack, 0, len(tracks))
	for _, t := range tracks {
		out = append(out, protocol.RTCSubTrack{
			Mid: t.mid, Type: t.kind, Source: t.source, Format: t.format, Layers: t.layers, Chosen: t.chosen,
		})
	}
	return out
}

// Unsubscribe ends a subscription.
func (r *Room) Unsubscribe(participantID, subscriptionID string) error {
	if err := r.lockOpen(); err != nil {
		return err
	}
	defer r.mu.Unlock()
	if _, ok := r.participants[participantID]; !ok {
		return failure(msgNotJoined)
	}
	s, ok := r.subs[subscriptionID]
	if !ok {
		return failure(msgSubNotExist)
	}
	r.endSubscription(s, msgParticipantLeft, true)
	return nil
}
