package room

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// UpdatePerson applies a participant's update-name / update-mediaState (a Conclave
// extension, docs/people.md): the participant's info changes, everyone is told with a
// `participant` event {action: "update", data: <info>} (OWT SDKs ignore the action), and a
// camera or microphone turned off or on mutes or unmutes that kind of the participant's own
// streams, which everyone sees as OWT `stream update` video.status / audio.status.
func (r *Room) UpdatePerson(ctx context.Context, req protocol.ParticipantUpdateRequest) error {
	if err := r.lockOpen(); err != nil {
		return err
	}
	p, ok := r.participants[req.ParticipantID]
	if !ok {
		r.mu.Unlock()
		return failure(msgNotJoined)
	}
	if req.Name != nil {
		p.info.Name = *req.Name
	}
	if req.Camera != nil || req.Microphone != nil {
		ms := protocol.MediaState{Camera: true, Microphone: true}
		if p.info.MediaState != nil {
			ms = *p.info.MediaState
		}
		if req.Camera != nil {
			ms.Camera = *req.Camera
		}
		if req.Microphone != nil {
			ms.Microphone = *req.Microphone
		}
		p.info.MediaState = &ms
	}
	if r.cfg.Notifying.ParticipantActivities {
		r.broadcast(protocol.EventParticipant, protocol.ParticipantEvent{Action: "update", Data: p.info})
	}
	type change struct {
		stream string
		kind   string
		active bool
	}
	var changes []change
	for _, pub := range r.sortedPubs() {
		if pub.owner != p.info.ID || !pub.ready {
			continue
		}
		kinds := pub.kinds()
		for kind, want := range map[string]*bool{"video": req.Camera, "audio": req.Microphone} {
			if want != nil && kinds[kind] && pub.muted[kind] == *want {
				changes = append(changes, change{pub.id, kind, *want})
			}
		}
	}
	r.mu.Unlock()
	slices.SortFunc(changes, func(a, b change) int {
		return cmp.Or(strings.Compare(a.stream, b.stream), strings.Compare(a.kind, b.kind))
	})
	for _, c := range changes {
		if err := r.setActive(ctx, c.stream, []string{c.kind}, c.active); err != nil {
			return err
		}
	}
	return nil
}
