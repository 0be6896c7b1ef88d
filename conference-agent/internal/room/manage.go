package room

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// msgNotMixed answers layout updates of forward streams.
const msgNotMixed = "Stream is not a mixed stream"

// ParticipantDetail is a participant as the management API shows it (REST
// `/rooms/{id}/participants`).
type ParticipantDetail struct {
	ID         string              `json:"id"`
	User       string              `json:"user"`
	Role       string              `json:"role"`
	Permission protocol.Permission `json:"permission"`
	// Transports (a Conclave extension, GET of one participant only) are the participant's
	// WebRTC PeerConnections with their bandwidth estimate and what each subscription
	// receives (congestion control); a webrtc agent that does not answer in time leaves its
	// transports out.
	Transports []protocol.TransportStats `json:"transports,omitempty"`
}

func detail(p *participant) ParticipantDetail {
	return ParticipantDetail{ID: p.info.ID, User: p.info.User, Role: p.info.Role, Permission: p.perm}
}

// Participants lists the participants in join order.
func (r *Room) Participants() ([]ParticipantDetail, error) {
	if err := r.lockOpen(); err != nil {
		return nil, err
	}
	defer r.mu.Unlock()
	out := make([]ParticipantDetail, 0, len(r.participants))
	for _, p := range r.sortedParticipants() {
		out = append(out, detail(p))
	}
	return out, nil
}

// Participant returns one participant; 404/1005 if unknown.
func (r *Room) Participant(id string) (ParticipantDetail, error) {
	if err := r.lockOpen(); err != nil {
		return ParticipantDetail{}, err
	}
	defer r.mu.Unlock()
	p, ok := r.participants[id]
	if !ok {
		return ParticipantDetail{}, participantNotFound()
	}
	return detail(p), nil
}

// statsTimeout bounds the rtc.stats calls of a participant GET.
const statsTimeout = time.Second

// ParticipantWithStats is Participant with the state of its transports, asked of their
// webrtc agents outside the room's lock.
func (r *Room) ParticipantWithStats(ctx context.Context, id string) (ParticipantDetail, error) {
	if err := r.lockOpen(); err != nil {
		return ParticipantDetail{}, err
	}
	p, ok := r.participants[id]
	if !ok {
		r.mu.Unlock()
		return ParticipantDetail{}, participantNotFound()
	}
	d := detail(p)
	byAgent := map[string][]string{}
	for _, t := range r.transports {
		if t.owner == id && t.agent != "" {
			byAgent[t.agent] = append(byAgent[t.agent], t.id)
		}
	}
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, statsTimeout)
	defer cancel()
	for agent, ids := range byAgent {
		slices.Sort(ids)
		st, err := r.deps.RTC.Stats(ctx, agent, protocol.RTCStatsRequest{TransportIDs: ids})
		if err != nil {
			r.log.Debug("rtc.stats failed", "agent", agent, "error", err)
			continue
		}
		d.Transports = append(d.Transports, st.Transports...)
	}
	slices.SortFunc(d.Transports, func(a, b protocol.TransportStats) int { return strings.Compare(a.ID, b.ID) })
	return d, nil
}

// UpdateParticipant applies permission updates (replace /permission/publish[/audio|/video] or
// /permission/subscribe[…]); all or nothing. As OWT, the participant is not notified.
func (r *Room) UpdateParticipant(id string, ops []protocol.PatchOp) (ParticipantDetail, error) {
	if err := r.lockOpen(); err != nil {
		return ParticipantDetail{}, err
	}
	defer r.mu.Unlock()
	p, ok := r.participants[id]
	if !ok {
		return ParticipantDetail{}, participantNotFound()
	}
	perm := p.perm
	for _, op := range ops {
		if err := applyPermission(&perm, op); err != nil {
			return ParticipantDetail{}, err
		}
	}
	p.perm = perm
	return detail(p), nil
}

// applyPermission applies one permission update to perm.
func applyPermission(perm *protocol.Permission, op protocol.PatchOp) error {
	if op.Op != "replace" {
		return errs.BadRequest("Invalid permission update op: " + op.Op)
	}
	rest, ok := strings.CutPrefix(op.Path, "/permission/")
	if !ok {
		return errs.BadRequest("Invalid permission update path: " + op.Path)
	}
	which, kind, _ := strings.Cut(rest, "/")
	var av *protocol.AV
	switch which {
	case "publish":
		av = &perm.Publish
	case "subscribe":
		av = &perm.Subscribe
	default:
		return errs.BadRequest("Invalid permission update path: " + op.Path)
	}
	var target any = av
	switch kind {
	case "":
	case kindAudio:
		target = &av.Audio
	case kindVideo:
		target = &av.Video
	default:
		return errs.BadRequest("Invalid permission update path: " + op.Path)
	}
	if err := strictJSON(op.Value, target); err != nil {
		return errs.BadRequest("Invalid permission update value for " + op.Path)
	}
	return nil
}

// Streams lists the room's streams in the v1.0 StreamInfo form.
func (r *Room) Streams() ([]json.RawMessage, error) {
	if err := r.lockOpen(); err != nil {
		return nil, err
	}
	defer r.mu.Unlock()
	out := []json.RawMessage{}
	for _, pub := range append(r.liveMixes(), r.sortedPubs()...) {
		if pub.ready {
			b, _ := json.Marshal(r.restStreamOf(pub))
			out = append(out, b)
		}
	}
	return out, nil
}

// Stream returns one stream in the v1.0 form; 404/1004 if unknown.
func (r *Room) Stream(id string) (json.RawMessage, error) {
	if err := r.lockOpen(); err != nil {
		return nil, err
	}
	defer r.mu.Unlock()
	pub := r.streamByID(id)
	if pub == nil || !pub.ready {
		return nil, streamNotFound()
	}
	b, _ := json.Marshal(r.restStreamOf(pub))
	return b, nil
}

// HasStream reports whether a ready stream id (forward or mixed) exists (server-side
// subscription sources).
func (r *Room) HasStream(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	pub := r.streamByID(id)
	return pub != nil && pub.ready
}

// isMixed reports whether id is a live mixed stream.
func (r *Room) isMixed(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.mixOf(id)
	return m != nil && m.pub != nil
}

// UpdateStream applies stream updates in order: status replace (like stream-control
// pause/play) and /info/inViews add/remove on forward streams; /info/layout and
// /info/layout/<n>/stream on mixed streams (mix.layout, mix.region). It returns the updated
// stream.
func (r *Room) UpdateStream(ctx context.Context, id string, ops []protocol.PatchOp) (json.RawMessage, error) {
	if _, err := r.Stream(id); err != nil {
		return nil, err
	}
	if r.isMixed(id) {
		for _, op := range ops {
			if err := r.applyMixedOp(ctx, id, op); err != nil {
				return nil, err
			}
		}
		return r.Stream(id)
	}
	for _, op := range ops {
		if err := r.applyStreamOp(ctx, id, op); err != nil {
			return nil, err
		}
	}
	return r.Stream(id)
}

// applyStreamOp applies one stream update.
func (r *Room) applyStreamOp(ctx context.Context, id string, op protocol.PatchOp) error {
	var value string
	switch {
	case op.Path == "/media/audio/status" || op.Path == "/media/video/status":
		if json.Unmarshal(op.Value, &value) != nil || (value != "active" && value != "inactive") {
			return errs.BadRequest("Invalid status value")
		}
		kind := strings.TrimSuffix(strings.TrimPrefix(op.Path, "/media/"), "/status")
		if !r.streamHasKind(id, kind) {
			return badRequest(msgTrackNotExist)
		}
		return r.setActive(ctx, id, []string{kind}, value == "active")
	case op.Path == "/info/inViews":
		if json.Unmarshal(op.Value, &value) != nil || (op.Op != "add" && op.Op != "remove") {
			return errs.BadRequest("Invalid inViews update")
		}
		return r.setInView(id, value, op.Op == "add", badRequest)
	case strings.HasPrefix(op.Path, "/info/layout"):
		return badRequest(msgNotMixed)
	}
	return errs.BadRequest("Invalid stream update path: " + op.Path)
}

func (r *Room) streamHasKind(id, kind string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	pub := r.pubs[id]
	return pub != nil && pub.kinds()[kind]
}

// DeleteStream removes a stream as an admin unpublish; 404/1004 if unknown.
func (r *Room) DeleteStream(id string) error {
	if r.isMixed(id) {
		return badRequest(msgStreamIsMixed) // OWT: mixed streams live as long as the room
	}
	if !r.HasStream(id) {
		if r.Closed() {
			return notOwner()
		}
		return streamNotFound()
	}
	return r.Unpublish("", id)
}
