package room

import (
	"context"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/store"
)

// xcodePlan is what a subscriber asked for beyond the source track: another format and/or
// video parameters (only the ones that differ).
type xcodePlan struct {
	Format     protocol.Format
	Parameters *protocol.VideoParameters
}

// deliveryPlan checks a requested format and parameters against the source track (OWT
// conference.js subscribe): the source's own are forwarded as they are (nil plan); others
// must be in the track's optional capabilities, computed from the room's mediaOut and
// transcoding settings, and need a transcode. Refusals carry OWT's messages; a transcode the
// room allows while no mixing agent is registered is `No mixing agent available`. A room
// built without a mixing client transcodes nothing; r.mu is held.
func (r *Room) deliveryPlan(req protocol.SubTrack, src protocol.TrackInfo) (*xcodePlan, error) {
	opt := &protocol.Optional{}
	if r.deps.Mixing != nil {
		opt = r.roomOptional(src)
	}
	plan := xcodePlan{Format: src.Format}
	need := false
	if req.Format != nil && !sameFormat(*req.Format, src.Format) {
		f, ok := pickFormat(opt, *req.Format)
		if !ok {
			return nil, targetNotSatisfied(req.Type, msgFormatNotOK)
		}
		plan.Format, need = f, true
	}
	if req.Type == kindVideo && req.Parameters != nil {
		diff, msg := transcodeParameters(*req.Parameters, src.Parameters, opt)
		if msg != "" {
			return nil, targetNotSatisfied(req.Type, msg)
		}
		if diff != nil {
			plan.Parameters, need = diff, true
		}
	}
	if !need {
		return nil, nil
	}
	if !r.canTranscode() {
		return nil, failure(msgNoMixingAgent)
	}
	return &plan, nil
}

// startXcodes starts the transcodes a pending subscription needs, on one mixing agent
// scheduled for the subscription (task = subscription id; each transcode is
// <subscription id>-<kind>), and points its tracks at the transcoded tracks.
func (r *Room) startXcodes(ctx context.Context, s *subscription) error {
	r.mu.Lock()
	var todo []int
	var reqs []protocol.XcodeStart
	for i, t := range s.tracks {
		if t.xcode != nil {
			req := *t.xcode
			req.ID = s.id + "-" + t.kind
			todo, reqs = append(todo, i), append(reqs, req)
		}
	}
	r.mu.Unlock()
	if len(reqs) == 0 {
		return nil
	}
	if r.deps.Mixing == nil || (r.deps.HasWorker != nil && !r.deps.HasWorker(PurposeMixing)) {
		return failure(msgNoMixingAgent)
	}
	w, err := r.deps.Scheduler.Schedule(ctx, PurposeMixing, s.id, store.Preference{})
	if err != nil {
		r.log.Warn("no mixing agent for a transcode", "subscription", s.id, "err", err)
		return failure(msgNoMixingAgent)
	}
	started := make([]protocol.XcodeStarted, 0, len(reqs))
	for _, req := range reqs {
		res, err := r.deps.Mixing.XcodeStart(ctx, w.ID, req)
		if err != nil {
			r.log.Warn("transcode did not start", "subscription", s.id, "agent", w.ID, "err", err)
			for _, done := range reqs[:len(started)+1] {
				r.deps.Mixing.Stop(w.ID, protocol.MethodXcodeStop, done.ID)
			}
			return failure(msgXcodeFailed + ": " + errs.As(err).Message)
		}
		started = append(started, res)
	}
	return r.xcodesStarted(s, w.ID, todo, reqs, started)
}

// xcodesStarted points the subscription's tracks at the transcoded tracks, unless the
// subscription ended meanwhile (the transcodes are then stopped).
func (r *Room) xcodesStarted(s *subscription, agent string, todo []int, reqs []protocol.XcodeStart, started []protocol.XcodeStarted) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.subs[s.id] != s {
		for _, req := range reqs {
			r.deps.Mixing.Stop(agent, protocol.MethodXcodeStop, req.ID)
		}
		if r.closed {
			return notOwner()
		}
		return failure(msgSourceLoss)
	}
	for k, i := range todo {
		t := &s.tracks[i]
		t.xcode, t.xcodeAgent, t.xcodeID = nil, agent, reqs[k].ID
		t.source, t.layers = protocol.TrackRef{Agent: agent, TrackID: started[k].Track.ID}, nil
		if f := started[k].Track.Format; f.Codec != "" {
			t.format = f
		}
		if p := started[k].Track.Parameters; p != nil {
			t.params = p
		}
	}
	return nil
}

// rtcTracksOf converts the subscription's tracks for rtc.subscribe.
func (r *Room) rtcTracksOf(s *subscription) []protocol.RTCSubTrack {
	r.mu.Lock()
	defer r.mu.Unlock()
	return rtcSubTracks(s.tracks)
}

// abortSubscription forgets a subscription whose set-up failed and stops its transcodes.
func (r *Room) abortSubscription(s *subscription, t *transport, isNew bool) {
	r.mu.Lock()
	if r.subs[s.id] == s {
		r.stopXcodes(s)
	}
	r.mu.Unlock()
	r.abort(s.id, t, isNew)
}

// stopXcodes stops the subscription's transcodes (the subscription ends); r.mu is held.
func (r *Room) stopXcodes(s *subscription) {
	for i := range s.tracks {
		t := &s.tracks[i]
		if t.xcodeID != "" && r.deps.Mixing != nil {
			r.deps.Mixing.Stop(t.xcodeAgent, protocol.MethodXcodeStop, t.xcodeID)
			t.xcodeID = ""
		}
	}
}

// xcodeEvent applies a MixEvent about one of the room's transcodes: a failed transcode ends
// its subscription (`progress error`); r.mu is held.
func (r *Room) xcodeEvent(ev protocol.MixEvent) bool {
	for _, s := range r.sortedSubs() {
		for _, t := range s.tracks {
			if t.xcodeID != ev.ID || (ev.Agent != "" && ev.Agent != t.xcodeAgent) {
				continue
			}
			if ev.Type == protocol.MixEventFailed {
				r.log.Warn("transcode failed", "subscription", s.id, "transcode", ev.ID, "reason", ev.Reason)
				r.endSubscription(s, or(ev.Reason, msgXcodeFailed), true)
			}
			return true
		}
	}
	return r.sessionXcodeEvent(ev)
}
