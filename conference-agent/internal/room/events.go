package room

import (
	"encoding/json"
	"reflect"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// Default reasons when an agent reports a failure without one.
const (
	msgTransportFailed = "Transport failed"
	msgOperationFailed = "Operation failed"
	msgNoTrack         = "No media track"
)

// HandleRTC applies an event from the webrtc agent holding one of the room's transports
// (owt-protocol.md §4.5). It reports whether the room knows the transport. Events from an
// agent other than the transport's are ignored.
func (r *Room) HandleRTC(ev protocol.RTCEvent) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.transports[ev.TransportID]
	if r.closed || t == nil {
		return false
	}
	if ev.Agent != "" && t.agent != "" && ev.Agent != t.agent {
		r.log.Warn("rtc event from a foreign agent", "transport", t.id, "agent", ev.Agent, "holder", t.agent)
		return true
	}
	switch ev.Type {
	case protocol.RTCEventAnswer:
		r.soac(t, protocol.Signaling{Type: "answer", SDP: ev.SDP})
	case protocol.RTCEventCandidate:
		cand, _ := json.Marshal(ev.Candidate)
		r.soac(t, protocol.Signaling{Type: "candidate", Candidate: cand})
	case protocol.RTCEventReady:
		r.transportReady(t)
	case protocol.RTCEventFailed:
		r.endTransport(t, or(ev.Reason, msgTransportFailed), false)
	case protocol.RTCEventTrack:
		r.addTrack(t, ev)
	case protocol.RTCEventComplete:
		r.complete(t, ev.OperationID)
	case protocol.RTCEventError:
		r.operationError(t, ev.OperationID, or(ev.Reason, msgOperationFailed))
	case protocol.RTCEventLayers:
		r.layersPaused(t, ev)
	default:
		r.log.Debug("unknown rtc event", "type", ev.Type, "transport", t.id)
	}
	return true
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// soac forwards the agent's signaling to the transport's owner; r.mu is held.
func (r *Room) soac(t *transport, sig protocol.Signaling) {
	r.send(t.owner, protocol.EventProgress, protocol.ProgressEvent{ID: t.id, Status: statusSoac, Data: sig})
}

// layersPaused tells a simulcast publisher which of its layers nobody receives (dynacast,
// a Conclave extension): `progress` with status `layers` and data {mid, paused: [rid]}.
// OWT SDKs ignore a status they do not know; the Conclave web library pauses those
// encodings. r.mu is held.
func (r *Room) layersPaused(t *transport, ev protocol.RTCEvent) {
	pub := r.pubs[ev.OperationID]
	if pub == nil || pub.transport != t.id || ev.Layers == nil {
		return
	}
	r.send(t.owner, protocol.EventProgress, protocol.ProgressEvent{ID: t.id, SessionID: pub.id, Status: statusLayers,
		Data: ev.Layers})
}

// transportReady marks ICE+DTLS up and readies the operations already set up; r.mu is held.
func (r *Room) transportReady(t *transport) {
	t.ready = true
	r.send(t.owner, protocol.EventProgress, protocol.ProgressEvent{ID: t.id, Status: statusReady})
	for _, id := range sortedKeys(t.ops) {
		if pub := r.pubs[id]; pub != nil && pub.complete && !pub.ready {
			r.publicationReady(t, pub)
		} else if s := r.subs[id]; s != nil && s.complete && !s.ready {
			r.subscriptionReady(t, s)
		}
	}
}

// addTrack records a published track that arrived; r.mu is held.
func (r *Room) addTrack(t *transport, ev protocol.RTCEvent) {
	if ev.Track == nil {
		return
	}
	pub := r.trackOwner(t, ev.OperationID, ev.Track.Mid)
	if pub == nil {
		r.log.Debug("track for no pending publication", "transport", t.id, "track", ev.Track.ID)
		return
	}
	tr := ev.Track
	info := protocol.TrackInfo{
		ID: tr.ID, Type: tr.Type, Source: pub.source(tr.Mid), Format: tr.Format, Parameters: tr.Parameters,
		// optional is computed when the stream is shown (streamInfo), from the room's settings.
		Status: "active", Mid: tr.Mid, Rid: tr.Rid,
	}
	for i := range pub.tracks {
		if pub.tracks[i].ID == tr.ID {
			r.updateTrack(pub, &pub.tracks[i], tr)
			return
		}
	}
	pub.tracks = append(pub.tracks, info)
}

// updateTrack takes what a repeated track event says about a track: its parameters (the
// agent reports the picture size each time it changes). A stream already announced is
// announced again in full (`stream update` with field ".", as OWT does when a forward
// stream's resolution changes); r.mu is held.
func (r *Room) updateTrack(pub *publication, cur *protocol.TrackInfo, tr *protocol.RTCTrack) {
	if tr.Parameters == nil || reflect.DeepEqual(cur.Parameters, tr.Parameters) {
		return
	}
	cur.Parameters = tr.Parameters
	if pub.ready {
		r.streamUpdate(pub.id, ".", r.streamInfo(pub))
	}
}

// trackOwner finds the publication a track belongs to: the named operation, or the pending
// publication on t that asked for the mid; r.mu is held.
func (r *Room) trackOwner(t *transport, opID, mid string) *publication {
	if pub := r.pubs[opID]; pub != nil && pub.transport == t.id {
		return pub
	}
	for _, id := range sortedKeys(t.ops) {
		pub := r.pubs[id]
		if pub == nil || pub.complete {
			continue
		}
		for _, rt := range pub.requested {
			if rt.Mid == mid {
				return pub
			}
		}
	}
	return nil
}

// source returns the client-declared source of the track with mid.
func (p *publication) source(mid string) string {
	for _, t := range p.requested {
		if t.Mid == mid {
			return t.Source
		}
	}
	return ""
}

// complete marks an operation set up on the agent; r.mu is held.
func (r *Room) complete(t *transport, opID string) {
	if pub := r.pubs[opID]; pub != nil && pub.transport == t.id && !pub.complete {
		if len(pub.tracks) == 0 {
			r.endPublication(pub, msgNoTrack, true)
			return
		}
		pub.complete = true
		if t.ready {
			r.publicationReady(t, pub)
		}
		return
	}
	if s := r.subs[opID]; s != nil && s.transport == t.id && !s.complete {
		s.complete = true
		if t.ready {
			r.subscriptionReady(t, s)
		}
	}
}

// publicationReady tells the publisher its session is up and announces the stream 10 ms later
// (OWT's delay); r.mu is held.
func (r *Room) publicationReady(t *transport, pub *publication) {
	pub.ready = true
	r.send(pub.owner, protocol.EventProgress, protocol.ProgressEvent{ID: t.id, SessionID: pub.id, Status: statusReady})
	id := pub.id
	r.deps.AfterFunc(streamAddDelay, func() { r.announce(id) })
}

// announce sends `stream add` for a ready publication that still exists.
func (r *Room) announce(streamID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pub := r.pubs[streamID]
	if r.closed || pub == nil || !pub.ready || pub.announced {
		return
	}
	pub.announced = true
	r.streamAvailable(pub)
	if r.cfg.Notifying.StreamChange {
		r.broadcast(protocol.EventStream, protocol.StreamEvent{ID: pub.id, Status: "add", Data: r.streamInfo(pub)})
	}
}

// subscriptionReady tells the subscriber its session is up; r.mu is held.
func (r *Room) subscriptionReady(t *transport, s *subscription) {
	s.ready = true
	r.send(s.owner, protocol.EventProgress, protocol.ProgressEvent{ID: t.id, SessionID: s.id, Status: statusReady})
}

// operationError ends one operation the agent gave up on; r.mu is held.
func (r *Room) operationError(t *transport, opID, reason string) {
	if pub := r.pubs[opID]; pub != nil && pub.transport == t.id {
		r.endPublication(pub, reason, false)
	} else if s := r.subs[opID]; s != nil && s.transport == t.id {
		r.endSubscription(s, reason, false)
	}
}

// FailAgents ends every transport held by an agent that alive reports gone: their operations
// fail (`progress error`) and their streams are removed. Streaming-ins and recordings or
// streaming-outs on a gone agent fail the same way.
func (r *Room) FailAgents(alive func(agent string) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	for _, t := range r.sortedTransports() {
		if t.agent != "" && !alive(t.agent) {
			r.log.Warn("webrtc agent gone, failing its transport", "transport", t.id, "agent", t.agent)
			r.endTransport(t, msgAgentLost, false)
		}
	}
	r.failSessionAgents(alive)
	r.failMixAgents(alive)
}
