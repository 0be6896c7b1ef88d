package room

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// Sessions lists the room's running and recently failed sessions of kind (SessionRecording
// or SessionStreaming) in creation order, in their REST form with a `status` field.
func (r *Room) Sessions(kind string) ([]json.RawMessage, error) {
	if err := r.lockOpen(); err != nil {
		return nil, err
	}
	defer r.mu.Unlock()
	out := []json.RawMessage{}
	for _, s := range r.sortedSessions() {
		if s.kind == kind && s.started {
			out = append(out, s.rest())
		}
	}
	return out, nil
}

// sortedSessions returns the sessions in creation order; r.mu is held.
func (r *Room) sortedSessions() []*session {
	out := make([]*session, 0, len(r.sessions))
	for _, s := range r.sessions {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *session) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

// session returns a listed session of kind; 404/1004 otherwise; r.mu is held.
func (r *Room) session(kind, id string) (*session, error) {
	s := r.sessions[id]
	if s == nil || s.kind != kind || !s.started {
		return nil, streamNotFound()
	}
	return s, nil
}

// DeleteSession stops a session (rec.stop / out.stop: a recording is finalised) and forgets
// it; a failed one is just forgotten. Unknown ids are 404/1004.
func (r *Room) DeleteSession(ctx context.Context, kind, id string) error {
	if err := r.lockOpen(); err != nil {
		return err
	}
	s, err := r.session(kind, id)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	agent, failed := s.agent, s.failed
	_, stop := s.methods()
	r.stopSessionXcodes(s)
	delete(r.sessions, id)
	r.touch()
	r.mu.Unlock()
	if failed {
		return nil
	}
	// Wait for the agent, so that when DELETE answers a recording's file is complete.
	if err := r.deps.Sessions.StopWait(ctx, agent, stop, id); err != nil {
		r.deps.Log.Warn("session stop not confirmed", "session", id, "agent", agent, "err", err)
	}
	return nil
}

// sessionPatch is the outcome of a PATCH: the new sources, if any.
type sessionPatch struct {
	audio, video *sessionTrack
}

// UpdateSession applies PATCH operations (already validated by the management API): `from`
// replacements re-point the session (rec.update / out.update), parameter replacements are
// accepted only when they equal the current ones (no transcoding here). All or nothing.
func (r *Room) UpdateSession(ctx context.Context, kind, id string, ops []protocol.PatchOp) (json.RawMessage, error) {
	s, patch, err := r.preparePatch(kind, id, ops)
	if err != nil {
		return nil, err
	}
	if patch.audio != nil || patch.video != nil {
		update, _ := s.methods()
		err := r.deps.Sessions.Update(ctx, s.agent, update, protocol.SessionUpdate{
			ID: s.id, Audio: patch.audio.wire(), Video: patch.video.wire(),
		})
		if err != nil {
			return nil, agentFailure(err)
		}
	}
	return r.applyPatch(s, patch)
}

// preparePatch checks the operations against the session and the room's streams.
func (r *Room) preparePatch(kind, id string, ops []protocol.PatchOp) (*session, sessionPatch, error) {
	var p sessionPatch
	if err := r.lockOpen(); err != nil {
		return nil, p, err
	}
	defer r.mu.Unlock()
	s, err := r.session(kind, id)
	if err != nil {
		return nil, p, err
	}
	if s.failed {
		return nil, p, badRequest(msgSessionNotActive)
	}
	for _, op := range ops {
		if err := r.patchOp(s, &p, op); err != nil {
			return nil, p, err
		}
	}
	return s, p, nil
}

// patchOp checks one operation; r.mu is held.
func (r *Room) patchOp(s *session, p *sessionPatch, op protocol.PatchOp) error {
	rest, ok := strings.CutPrefix(op.Path, "/media/")
	if !ok || op.Op != "replace" {
		return badRequest(msgInvalidSessionPatch)
	}
	switch rest {
	case "audio/from", "video/from":
		kind, cur, next := kindAudio, s.audio, &p.audio
		if rest == "video/from" {
			kind, cur, next = kindVideo, s.video, &p.video
		}
		t, err := r.newSource(s, kind, cur, op.Value)
		if err == nil {
			*next = t
		}
		return err
	}
	param, ok := strings.CutPrefix(rest, "video/parameters/")
	if !ok || s.video == nil {
		return badRequest(msgInvalidSessionPatch)
	}
	return sameParameter(param, op.Value, s.video.params)
}

// newSource resolves a replacement source of kind for s: it must exist and, for a
// recording, have the format being recorded; r.mu is held.
func (r *Room) newSource(s *session, kind string, cur *sessionTrack, value json.RawMessage) (*sessionTrack, error) {
	if cur == nil {
		if kind == kindAudio {
			return nil, badRequest(msgNoSessionAudio)
		}
		return nil, badRequest(msgNoSessionVideo)
	}
	if cur.xcodeID != "" {
		return nil, badRequest(msgTranscodedSource)
	}
	var from string
	if json.Unmarshal(value, &from) != nil || from == "" {
		return nil, badRequest(msgInvalidSessionPatch)
	}
	t, _, err := r.sessionSource(kind, from)
	if err != nil {
		return nil, err
	}
	if s.kind == SessionRecording && !sameFormat(cur.format, t.format) {
		return nil, badRequest(msgFormatNotOK)
	}
	t.out = cur.out
	if s.kind == SessionStreaming && kind == kindVideo {
		t.params = cur.params // the requested output parameters stay
	}
	return t, nil
}

// sameParameter accepts a parameter replacement only if it equals the current value.
func sameParameter(name string, value json.RawMessage, have *protocol.VideoParameters) error {
	var want protocol.VideoParameters
	var err error
	switch name {
	case "resolution":
		want.Resolution = new(protocol.Resolution)
		err = json.Unmarshal(value, want.Resolution)
	case "framerate":
		err = json.Unmarshal(value, &want.Framerate)
	case "bitrate":
		want.Bitrate = new(protocol.Bitrate)
		err = json.Unmarshal(value, want.Bitrate)
	case "keyFrameInterval":
		err = json.Unmarshal(value, &want.KeyFrameInterval)
	default:
		return badRequest(msgInvalidSessionPatch)
	}
	if err != nil {
		return badRequest(msgInvalidSessionPatch)
	}
	if msg := parametersProblem(want, have); msg != "" {
		return badRequest(msg)
	}
	return nil
}

// applyPatch records the new sources once the agent switched; a source that vanished
// meanwhile ends the session as any source loss does.
func (r *Room) applyPatch(s *session, p sessionPatch) (json.RawMessage, error) {
	if err := r.lockOpen(); err != nil {
		return nil, err
	}
	defer r.mu.Unlock()
	if r.sessions[s.id] != s || s.failed {
		return nil, streamNotFound()
	}
	if p.audio != nil {
		s.audio = p.audio
	}
	if p.video != nil {
		s.video = p.video
	}
	for _, t := range []*sessionTrack{s.audio, s.video} {
		if pub := r.pubsOf(t); t != nil && (pub == nil || !pub.ready) {
			r.endSession(s, msgSourceLoss, true)
			break
		}
	}
	return s.rest(), nil
}

// pubsOf returns the publication a session track takes media from; r.mu is held.
func (r *Room) pubsOf(t *sessionTrack) *publication {
	if t == nil {
		return nil
	}
	return r.streamByID(t.stream)
}

// endSessionsOf ends the sessions taking media from a stream that went away (OWT: `Source
// stream loss`); r.mu is held.
func (r *Room) endSessionsOf(stream string) {
	for _, s := range r.sortedSessions() {
		if !s.failed && s.dependsOn(stream) {
			r.endSession(s, msgSourceLoss, true)
		}
	}
}

// endSession ends s for reason; stop tells its agent. A running session stays listed as
// failed (status "error: <reason>") until ExpireSessions; a pending one is forgotten and its
// add fails; r.mu is held.
func (r *Room) endSession(s *session, reason string, stop bool) {
	if stop {
		_, method := s.methods()
		r.deps.Sessions.Stop(s.agent, method, s.id)
	}
	r.stopSessionXcodes(s)
	s.failed, s.reason, s.failedAt = true, reason, r.deps.Now()
	if !s.started {
		delete(r.sessions, s.id)
	}
	r.log.Info("session ended", "purpose", s.kind, "session", s.id, "reason", reason)
	r.touch()
}

// hasLiveSessions reports whether a session is pending or running; r.mu is held.
func (r *Room) hasLiveSessions() bool {
	for _, s := range r.sessions {
		if !s.failed {
			return true
		}
	}
	return false
}

// ExpireSessions forgets failed sessions listed for at least keep.
func (r *Room) ExpireSessions(keep time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.deps.Now()
	for id, s := range r.sessions {
		if s.failed && now.Sub(s.failedAt) >= keep {
			delete(r.sessions, id)
		}
	}
}

// HandleSession applies an event of a recording or streaming agent about one of the room's
// sessions or streaming-ins, and reports whether the room knows the session. Events from
// an agent other than the session's are ignored.
func (r *Room) HandleSession(ev protocol.SessionEvent) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	if s := r.sessions[ev.ID]; s != nil {
		if ev.Agent == "" || s.agent == "" || ev.Agent == s.agent {
			r.sessionEvent(s, ev)
		}
		return true
	}
	if pub := r.pubs[ev.ID]; pub != nil && pub.agent != "" {
		if ev.Agent == "" || ev.Agent == pub.agent {
			r.streamingInEvent(pub, ev)
		}
		return true
	}
	return false
}

// sessionEvent applies an event to a recording or streaming-out; r.mu is held.
func (r *Room) sessionEvent(s *session, ev protocol.SessionEvent) {
	switch ev.Type {
	case protocol.SessionEventFailed:
		if !s.failed {
			r.endSession(s, or(ev.Reason, msgSessionFailed), false)
		}
	case protocol.SessionEventStatus:
		if !s.failed {
			s.reason = ev.Reason
		}
	case protocol.SessionEventStopped:
		if !s.failed {
			r.endSession(s, or(ev.Reason, msgSessionStopped), false)
		}
	default:
		r.log.Debug("unknown session event", "type", ev.Type, "session", s.id)
	}
}

// streamingInEvent applies an event to a streaming-in: its end removes the stream (`stream
// remove`, subscriptions end with `Source stream loss`); r.mu is held.
func (r *Room) streamingInEvent(pub *publication, ev protocol.SessionEvent) {
	switch ev.Type {
	case protocol.SessionEventFailed, protocol.SessionEventStopped:
		r.log.Info("streaming-in ended", "stream", pub.id, "type", ev.Type, "reason", ev.Reason)
		r.endPublication(pub, or(ev.Reason, msgSessionFailed), false)
	case protocol.SessionEventStatus:
		r.log.Info("streaming-in status", "stream", pub.id, "reason", ev.Reason)
	}
}

// failSessionAgents fails the sessions and streaming-ins of agents alive reports gone; r.mu
// is held.
func (r *Room) failSessionAgents(alive func(string) bool) {
	for _, s := range r.sortedSessions() {
		if !s.failed && s.agent != "" && !alive(s.agent) {
			r.log.Warn("session agent gone", "session", s.id, "agent", s.agent)
			r.endSession(s, msgSessionAgentLost, false)
		}
	}
	for _, pub := range r.sortedPubs() {
		if pub.agent != "" && !alive(pub.agent) {
			r.log.Warn("streaming agent gone", "stream", pub.id, "agent", pub.agent)
			r.endPublication(pub, msgSessionAgentLost, false)
		}
	}
}

// stopAllSessions stops every session and streaming-in (the room ends); r.mu is held.
func (r *Room) stopAllSessions() {
	for _, s := range r.sortedSessions() {
		if !s.failed {
			_, stop := s.methods()
			r.deps.Sessions.Stop(s.agent, stop, s.id)
		}
		r.stopSessionXcodes(s)
	}
	r.sessions = map[string]*session{}
	for _, pub := range r.sortedPubs() {
		if pub.agent != "" {
			r.endPublication(pub, msgRoomDestroyed, true)
		}
	}
}
