package room

import (
	"context"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// Join adds a participant (OWT conference.js join, owt-protocol.md §4.8): the participant
// limit (OWT counts its hidden admin, so the room is full at count >= limit+1 with the admin,
// i.e. at limit real participants), the role, a duplicate id; then `participant join` to the
// others and the room as the joiner sees it. Views without a running mix get one first (OWT
// starts its mixers when the room initialises), so the joiner sees the mixed streams.
func (r *Room) Join(ctx context.Context, j protocol.Joiner) (protocol.JoinResult, error) {
	r.startMixes(ctx)
	if err := r.lockOpen(); err != nil {
		return protocol.JoinResult{}, err
	}
	defer r.mu.Unlock()
	if limit := r.cfg.ParticipantLimit; limit > 0 && len(r.participants)+1 >= limit+1 {
		return protocol.JoinResult{}, failure(msgRoomFull)
	}
	role, ok := r.cfg.Role(j.Role)
	if !ok {
		return protocol.JoinResult{}, failure(msgInvalidRole)
	}
	if j.ID == "" {
		return protocol.JoinResult{}, failure(msgNotJoined)
	}
	if _, dup := r.participants[j.ID]; dup {
		return protocol.JoinResult{}, failure(msgAlreadyInRoom)
	}
	p := &participant{
		moderate: role.Moderate,
		seq:      r.nextSeq(),
		info:     protocol.ParticipantInfo{ID: j.ID, User: j.User, Role: j.Role},
		portal:   j.Portal,
		origin:   j.Origin,
		protocol: j.Protocol,
		perm: protocol.Permission{
			Publish:   protocol.AV{Audio: role.Publish.Audio, Video: role.Publish.Video},
			Subscribe: protocol.AV{Audio: role.Subscribe.Audio, Video: role.Subscribe.Video},
		},
	}
	r.participants[j.ID] = p
	r.touch()
	r.log.Debug("participant joined", "participant", j.ID, "user", j.User, "role", j.Role)
	if r.cfg.Notifying.ParticipantActivities {
		r.broadcast(protocol.EventParticipant, protocol.ParticipantEvent{Action: "join", Data: p.info}, j.ID)
	}
	history := r.historyLocked(j.ID, "", ChatHistoryDefault)
	return protocol.JoinResult{Permission: p.perm, Room: r.infoLocked(), Chat: &history}, nil
}

// infoLocked is the room as a joiner sees it; r.mu is held.
func (r *Room) infoLocked() protocol.RoomInfo {
	info := protocol.RoomInfo{
		ID:           r.id,
		Views:        make([]string, 0, len(r.cfg.Views)),
		Participants: make([]protocol.ParticipantInfo, 0, len(r.participants)),
		Streams:      []protocol.StreamInfo{},
	}
	for _, v := range r.cfg.Views {
		info.Views = append(info.Views, v.Label)
	}
	for _, p := range r.sortedParticipants() {
		info.Participants = append(info.Participants, p.info)
	}
	for _, pub := range append(r.liveMixes(), r.sortedPubs()...) {
		if pub.announced {
			info.Streams = append(info.Streams, r.streamInfo(pub))
		}
	}
	return info
}

// Leave removes a participant with everything it published and subscribed, then tells the
// rest (`participant leave`).
func (r *Room) Leave(participantID string) error {
	if err := r.lockOpen(); err != nil {
		return err
	}
	defer r.mu.Unlock()
	if _, ok := r.participants[participantID]; !ok {
		return failure(msgNotJoined)
	}
	r.leaveLocked(participantID)
	return nil
}

// Drop disconnects a participant (management DELETE participant): `drop` to its portal, then
// it leaves. Unknown participants are 404/1005.
func (r *Room) Drop(participantID string) error {
	if err := r.lockOpen(); err != nil {
		return err
	}
	defer r.mu.Unlock()
	if _, ok := r.participants[participantID]; !ok {
		return participantNotFound()
	}
	r.send(participantID, protocol.EventDrop, nil)
	r.leaveLocked(participantID)
	return nil
}

// leaveLocked forgets the participant and ends its transports (and so its operations); r.mu
// is held.
func (r *Room) leaveLocked(participantID string) {
	delete(r.participants, participantID) // the leaver hears nothing more
	for _, t := range r.sortedTransports() {
		if t.owner == participantID {
			r.endTransport(t, msgParticipantLeft, true)
		}
	}
	r.touch()
	if r.cfg.Notifying.ParticipantActivities {
		r.broadcast(protocol.EventParticipant, protocol.ParticipantEvent{Action: "leave", Data: participantID})
	}
}

// DropAll drops every participant (each portal gets `drop`), ends every transport and closes
// the room: the room is destroyed or its lease was lost.
func (r *Room) DropAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.broadcast(protocol.EventDrop, nil)
	for _, t := range r.sortedTransports() {
		r.endTransport(t, msgRoomDestroyed, true)
	}
	r.participants = map[string]*participant{}
	r.stopAllSessions()
	r.closed = true
	r.stopMixesLocked()
}
