package room

import (
	"context"
	"slices"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/store"
)

// transcodeRecording plans a transcode for a recording track whose requested format or
// parameters its source does not have (OWT lets a recording ask for anything in the source's
// optional capabilities; the recording agent itself only converts Opus to AAC). refused is
// the recording rule's error, returned when the room does not allow the transcode. It
// returns the recorded format; r.mu is held.
func (r *Room) transcodeRecording(s *session, t *sessionTrack, req protocol.SubTrack, refused error) (protocol.Format, error) {
	if r.deps.Mixing == nil || (req.Format == nil && req.Parameters == nil) {
		return protocol.Format{}, refused
	}
	if req.Type == kindAudio && !slices.Contains(recordingAudioCodecs, req.Format.Codec) {
		return protocol.Format{}, badRequest(msgAudioCodecInvalid)
	}
	src := protocol.TrackInfo{Type: req.Type, Format: t.format, Parameters: t.params}
	plan, err := r.deliveryPlan(req, src)
	switch {
	case err != nil && errs.As(err).Message == msgNoMixingAgent:
		return protocol.Format{}, errs.Cluster(msgNoMixingAgent)
	case err != nil || plan == nil:
		return protocol.Format{}, refused
	}
	t.xcode = &protocol.XcodeStart{
		ID: s.id + "-" + req.Type, RoomID: r.id, Controller: r.deps.Controller, Format: plan.Format,
		Parameters: plan.Parameters, Source: protocol.SessionTrack{Source: t.source, Format: t.format, Parameters: t.params},
	}
	if req.Type == kindVideo {
		t.params = req.Parameters
	}
	return plan.Format, nil
}

// startSessionXcodes starts a pending session's transcodes on a mixing agent scheduled for
// the session and points its tracks at the transcoded tracks.
func (r *Room) startSessionXcodes(ctx context.Context, s *session) error {
	r.mu.Lock()
	var tracks []*sessionTrack
	var reqs []protocol.XcodeStart
	for _, t := range []*sessionTrack{s.audio, s.video} {
		if t != nil && t.xcode != nil {
			tracks, reqs = append(tracks, t), append(reqs, *t.xcode)
		}
	}
	r.mu.Unlock()
	if len(reqs) == 0 {
		return nil
	}
	if r.deps.HasWorker != nil && !r.deps.HasWorker(PurposeMixing) {
		return errs.Cluster(msgNoMixingAgent)
	}
	w, err := r.deps.Scheduler.Schedule(ctx, PurposeMixing, s.id, store.Preference{})
	if err != nil {
		return errs.Cluster(msgNoMixingAgent)
	}
	started := make([]protocol.XcodeStarted, 0, len(reqs))
	for _, req := range reqs {
		res, err := r.deps.Mixing.XcodeStart(ctx, w.ID, req)
		if err != nil {
			for _, done := range reqs[:len(started)+1] {
				r.deps.Mixing.Stop(w.ID, protocol.MethodXcodeStop, done.ID)
			}
			return agentFailure(err)
		}
		started = append(started, res)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.sessions[s.id] != s || s.failed {
		for _, req := range reqs {
			r.deps.Mixing.Stop(w.ID, protocol.MethodXcodeStop, req.ID)
		}
		return r.pendingGone(s)
	}
	for k, t := range tracks {
		t.xcode, t.xcodeAgent, t.xcodeID = nil, w.ID, reqs[k].ID
		t.source, t.format = protocol.TrackRef{Agent: w.ID, TrackID: started[k].Track.ID}, t.out
	}
	return nil
}

// stopSessionXcodes stops a session's transcodes (the session ends); r.mu is held.
func (r *Room) stopSessionXcodes(s *session) {
	for _, t := range []*sessionTrack{s.audio, s.video} {
		if t != nil && t.xcodeID != "" && r.deps.Mixing != nil {
			r.deps.Mixing.Stop(t.xcodeAgent, protocol.MethodXcodeStop, t.xcodeID)
			t.xcodeID = ""
		}
	}
}

// sessionXcodeEvent applies a MixEvent about a recording's transcode: a failed transcode
// fails the recording; r.mu is held.
func (r *Room) sessionXcodeEvent(ev protocol.MixEvent) bool {
	for _, s := range r.sortedSessions() {
		for _, t := range []*sessionTrack{s.audio, s.video} {
			if t == nil || t.xcodeID != ev.ID || (ev.Agent != "" && ev.Agent != t.xcodeAgent) {
				continue
			}
			if ev.Type == protocol.MixEventFailed && !s.failed {
				r.endSession(s, or(ev.Reason, msgXcodeFailed), true)
			}
			return true
		}
	}
	return false
}

// failSessionXcodes fails the sessions whose transcodes ran on a gone mixing agent; r.mu is
// held.
func (r *Room) failSessionXcodes(alive func(string) bool) {
	for _, s := range r.sortedSessions() {
		for _, t := range []*sessionTrack{s.audio, s.video} {
			if t != nil && t.xcodeID != "" && !s.failed && !alive(t.xcodeAgent) {
				r.endSession(s, msgMixAgentLost, true)
				break
			}
		}
	}
}
