package room

import (
	"context"
	"encoding/json"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// Streaming-in constants (OWT addStreamingIn).
const (
	ownerAdmin      = "admin"     // owner of server-created streams
	sourceStreaming = "streaming" // track source of a streaming-in
)

// AddStreamingIn pulls an external stream into the room (OWT addStreamingIn): the room's
// input limit and mediaIn are checked, a streaming agent is scheduled (near
// connection.origin) and in.start awaited; the tracks it reports must be in mediaIn. The
// stream (id = the session id, owner `admin`, info.type `streaming`) is then announced to
// everyone and returned in the v1.0 REST form. Its tracks stay on the streaming agent, which
// serves rtc.export for subscribers.
func (r *Room) AddStreamingIn(ctx context.Context, spec protocol.StreamingIn) (json.RawMessage, error) {
	pub, req, err := r.prepareStreamingIn(spec)
	if err != nil {
		return nil, err
	}
	w, err := r.deps.Scheduler.Schedule(ctx, SessionStreaming, pub.id, pub.origin)
	if err != nil {
		r.log.Warn("no agent for streaming-in", "stream", pub.id, "err", err)
		r.dropPendingIn(pub)
		return nil, errs.Cluster("No streaming agent available")
	}
	if err := r.assignInAgent(pub, w.ID); err != nil {
		return nil, err
	}
	res, err := r.deps.Sessions.InStart(ctx, w.ID, req)
	if err != nil {
		r.log.Warn("streaming-in start failed", "stream", pub.id, "agent", w.ID, "err", err)
		r.dropPendingIn(pub)
		r.deps.Sessions.Stop(w.ID, protocol.MethodInStop, pub.id)
		return nil, agentFailure(err)
	}
	return r.confirmStreamingIn(pub, res)
}

// prepareStreamingIn checks a streaming-in and records it as a pending publication.
func (r *Room) prepareStreamingIn(spec protocol.StreamingIn) (*publication, protocol.InStart, error) {
	var req protocol.InStart
	if err := r.lockOpen(); err != nil {
		return nil, req, err
	}
	defer r.mu.Unlock()
	if limit := r.cfg.InputLimit; limit >= 0 && limit <= len(r.pubs) {
		return nil, req, failure(msgTooManyInputs)
	}
	audio, err := inMode(spec.Media.Audio, len(r.cfg.MediaIn.Audio) > 0, msgAudioForbidden)
	if err != nil {
		return nil, req, err
	}
	video, err := inMode(spec.Media.Video, len(r.cfg.MediaIn.Video) > 0, msgVideoForbidden)
	if err != nil {
		return nil, req, err
	}
	if audio == protocol.TrackNo && video == protocol.TrackNo {
		return nil, req, badRequest(msgInvalidTracks)
	}
	pub := &publication{
		seq: r.nextSeq(), id: r.freshID(), owner: ownerAdmin, infoType: infoStreaming,
		attributes: spec.Attributes, inViews: []string{}, muted: map[string]bool{},
	}
	if o := spec.Connection.Origin; o != nil {
		pub.origin = *o
	}
	r.pubs[pub.id] = pub
	r.touch()
	req = protocol.InStart{
		ID: pub.id, RoomID: r.id, Controller: r.deps.Controller, URL: spec.Connection.URL,
		TransportProtocol: spec.Connection.TransportProtocol, BufferSize: spec.Connection.BufferSize,
		Audio: audio, Video: video,
	}
	return pub, req, nil
}

// inMode applies the room's mediaIn to a requested track mode: a kind the room refuses is
// an error when required and skipped when `auto`.
func inMode(mode string, allowed bool, forbidden string) (string, error) {
	if allowed || mode == protocol.TrackNo {
		return mode, nil
	}
	if mode == protocol.TrackYes {
		return "", failure(forbidden)
	}
	return protocol.TrackNo, nil
}

// assignInAgent records the streaming agent of a pending streaming-in that still exists.
func (r *Room) assignInAgent(pub *publication, agent string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return notOwner()
	}
	if r.pubs[pub.id] != pub {
		return errs.Cluster(msgSessionStopped)
	}
	pub.agent = agent
	return nil
}

// dropPendingIn forgets a streaming-in that did not start.
func (r *Room) dropPendingIn(pub *publication) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pubs[pub.id] == pub {
		delete(r.pubs, pub.id)
		r.touch()
	}
}

// confirmStreamingIn checks the pulled tracks, makes the stream ready and announces it.
func (r *Room) confirmStreamingIn(pub *publication, res protocol.InStarted) (json.RawMessage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	gone := r.closed || r.pubs[pub.id] != pub
	tracks, err := r.inTracks(res.Tracks)
	if gone || err != nil {
		r.deps.Sessions.Stop(pub.agent, protocol.MethodInStop, pub.id)
		if r.pubs[pub.id] == pub {
			delete(r.pubs, pub.id)
			r.touch()
		}
		switch {
		case r.closed:
			return nil, notOwner()
		case gone:
			return nil, errs.Cluster(msgSessionStopped)
		}
		return nil, err
	}
	pub.tracks, pub.complete, pub.ready, pub.announced = tracks, true, true, true
	r.streamAvailable(pub)
	if r.cfg.Notifying.StreamChange {
		r.broadcast(protocol.EventStream, protocol.StreamEvent{ID: pub.id, Status: "add", Data: r.streamInfo(pub)})
	}
	r.log.Info("streaming-in started", "stream", pub.id, "agent", pub.agent, "tracks", len(tracks))
	b, _ := json.Marshal(r.restStreamOf(pub))
	return b, nil
}

// inTracks converts a streaming agent's tracks, each of which must be in mediaIn; r.mu is
// held.
func (r *Room) inTracks(tracks []protocol.RTCTrack) ([]protocol.TrackInfo, error) {
	if len(tracks) == 0 {
		return nil, badRequest(msgNoTrack)
	}
	out := make([]protocol.TrackInfo, 0, len(tracks))
	for _, t := range tracks {
		if t.Type != kindAudio && t.Type != kindVideo {
			return nil, badRequest(msgInvalidTracks)
		}
		if !acceptsInput(r.cfg.MediaIn, t.Type, t.Format.Codec) {
			if t.Type == kindAudio {
				return nil, badRequest(msgAudioUnacceptable)
			}
			return nil, badRequest(msgVideoUnacceptable)
		}
		out = append(out, protocol.TrackInfo{
			ID: t.ID, Type: t.Type, Source: sourceStreaming, Format: t.Format, Parameters: t.Parameters,
			Status: statusActive,
		})
	}
	return out, nil
}

// DeleteStreamingIn stops a streaming-in (in.stop) and removes its stream (`stream remove`;
// its subscriptions and sessions end with `Source stream loss`). Unknown ids are 404/1004.
func (r *Room) DeleteStreamingIn(id string) error {
	if err := r.lockOpen(); err != nil {
		return err
	}
	defer r.mu.Unlock()
	pub := r.pubs[id]
	if pub == nil || pub.infoType != infoStreaming {
		return streamNotFound()
	}
	r.endPublication(pub, msgSessionStopped, true)
	return nil
}
