package room

import (
	"slices"
	"strings"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// Progress statuses (owt-protocol.md §4.4).
const (
	statusSoac  = "soac"
	statusReady = "ready"
	statusError = "error"
	// statusLayers: simulcast layers the publisher may pause (Conclave extension).
	statusLayers = "layers"
)

// sortedTransports returns the transports by id, for deterministic clean-up; r.mu is held.
func (r *Room) sortedTransports() []*transport {
	out := make([]*transport, 0, len(r.transports))
	for _, t := range r.transports {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *transport) int { return strings.Compare(a.id, b.id) })
	return out
}

// sortedSubs returns the subscriptions by id; r.mu is held.
func (r *Room) sortedSubs() []*subscription {
	out := make([]*subscription, 0, len(r.subs))
	for _, s := range r.subs {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *subscription) int { return strings.Compare(a.id, b.id) })
	return out
}

// progressError tells an operation's owner that it ended, unless the owner asked for it (OWT
// suppresses `Participant terminate`); r.mu is held.
func (r *Room) progressError(owner, transportID, opID, reason string) {
	if reason == "" || reason == msgParticipantLeft {
		return
	}
	r.send(owner, protocol.EventProgress, protocol.ProgressEvent{
		ID: transportID, SessionID: opID, Status: statusError, Data: reason,
	})
}

// endPublication removes pub: its owner hears why (progress error), everyone hears `stream
// remove` if it was announced, and subscriptions forwarding it end with `Source stream loss`.
// terminate asks the agent to end the operation too; r.mu is held.
func (r *Room) endPublication(pub *publication, reason string, terminate bool) {
	delete(r.pubs, pub.id)
	t := r.transports[pub.transport]
	if t != nil {
		delete(t.ops, pub.id)
		if terminate {
			r.deps.RTC.Terminate(t.agent, protocol.RTCOperation{TransportID: t.id, OperationID: pub.id})
		}
	}
	if pub.agent != "" && terminate {
		r.deps.Sessions.Stop(pub.agent, protocol.MethodInStop, pub.id)
	}
	r.progressError(pub.owner, pub.transport, pub.id, reason)
	if pub.announced && r.cfg.Notifying.StreamChange {
		r.broadcast(protocol.EventStream, protocol.StreamEvent{ID: pub.id, Status: "remove"})
	}
	for _, s := range r.sortedSubs() {
		if s.dependsOn(pub.id) {
			r.endSubscription(s, msgSourceLoss, true)
		}
	}
	r.endSessionsOf(pub.id)
	r.dropFromMixes(pub)
	r.dropEmptyLegacy(t, terminate)
	r.touch()
}

// endSubscription removes s; its owner hears why; r.mu is held.
func (r *Room) endSubscription(s *subscription, reason string, terminate bool) {
	delete(r.subs, s.id)
	r.stopXcodes(s)
	t := r.transports[s.transport]
	if t != nil {
		delete(t.ops, s.id)
		if terminate {
			r.deps.RTC.Terminate(t.agent, protocol.RTCOperation{TransportID: t.id, OperationID: s.id})
		}
	}
	r.progressError(s.owner, s.transport, s.id, reason)
	r.dropEmptyLegacy(t, terminate)
	r.touch()
}

// dropEmptyLegacy destroys a protocol 1.1 transport once its one operation is gone; r.mu is
// held.
func (r *Room) dropEmptyLegacy(t *transport, destroy bool) {
	if t != nil && t.legacy && len(t.ops) == 0 {
		r.endTransport(t, "", destroy)
	}
}

// endTransport ends every operation on t with reason and forgets t; destroy asks its agent
// to close the PeerConnection; r.mu is held.
func (r *Room) endTransport(t *transport, reason string, destroy bool) {
	if r.transports[t.id] != t {
		return
	}
	delete(r.transports, t.id)
	r.deps.Index.Unbind(t.id)
	for _, id := range sortedKeys(t.ops) {
		if pub := r.pubs[id]; pub != nil {
			r.endPublication(pub, reason, false)
		} else if s := r.subs[id]; s != nil {
			r.endSubscription(s, reason, false)
		}
	}
	if destroy {
		r.deps.RTC.Terminate(t.agent, protocol.RTCOperation{TransportID: t.id})
	}
	r.touch()
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// dependsOn reports whether the subscription forwards a track of stream.
func (s *subscription) dependsOn(stream string) bool {
	for _, t := range s.tracks {
		if t.stream == stream {
			return true
		}
	}
	return false
}

// claimTransport finds the participant's transport id or creates it; a transport of another
// participant, or reusing a transport for a protocol 1.1 operation, is refused; r.mu is held.
func (r *Room) claimTransport(owner, id string, legacy bool) (*transport, bool, error) {
	if t, ok := r.transports[id]; ok {
		if t.owner != owner || legacy || t.legacy {
			return nil, false, transportMissing(id)
		}
		return t, false, nil
	}
	// Each transport is a PeerConnection on a webrtc agent: bound them per participant.
	owned := 0
	for _, t := range r.transports {
		if t.owner == owner {
			owned++
		}
	}
	if owned >= MaxTransportsPerParticipant {
		return nil, false, failure(msgTooManyTransports)
	}
	// A transport id another room holds (ids are visible to other participants: by default
	// a transport is named after its first stream) is refused, not shared.
	if !r.deps.Index.Bind(id) {
		return nil, false, transportMissing(id)
	}
	t := &transport{id: id, owner: owner, legacy: legacy, ops: map[string]bool{}}
	r.transports[id] = t
	return t, true, nil
}
