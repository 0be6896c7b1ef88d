package agent

import (
	"context"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/conference-agent/internal/room"
)

// Request room accessors of the session RPCs.
func inRoom(v protocol.AddRequest[protocol.StreamingIn]) string   { return v.RoomID }
func recRoom(v protocol.AddRequest[protocol.Recording]) string    { return v.RoomID }
func outRoom(v protocol.AddRequest[protocol.StreamingOut]) string { return v.RoomID }

// sessionRoutes registers the server-side session RPCs: streaming-ins, recordings and
// streaming-outs. Adds make the room live here if no agent owns it yet (the management API
// sends streamingIns.add to a freshly scheduled agent for a room that is not live).
func (a *Agent) sessionRoutes(h map[string]handler) {
	h[protocol.MethodStreamingInsAdd] = onAcquired(a, inRoom,
		func(ctx context.Context, r *room.Room, v protocol.AddRequest[protocol.StreamingIn]) (any, error) {
			return r.AddStreamingIn(ctx, v.Spec)
		})
	h[protocol.MethodStreamingInsDelete] = onRoom(a, itemRoom,
		func(_ context.Context, r *room.Room, v protocol.ItemRequest) (any, error) {
			return done(r.DeleteStreamingIn(v.ID))
		})
	h[protocol.MethodRecordingsAdd] = onAcquired(a, recRoom,
		func(ctx context.Context, r *room.Room, v protocol.AddRequest[protocol.Recording]) (any, error) {
			return r.AddRecording(ctx, v.Spec)
		})
	h[protocol.MethodStreamingOutsAdd] = onAcquired(a, outRoom,
		func(ctx context.Context, r *room.Room, v protocol.AddRequest[protocol.StreamingOut]) (any, error) {
			return r.AddStreamingOut(ctx, v.Spec)
		})
	a.manageSessions(h, room.SessionRecording, protocol.MethodRecordingsList,
		protocol.MethodRecordingsUpdate, protocol.MethodRecordingsDelete)
	a.manageSessions(h, room.SessionStreaming, protocol.MethodStreamingOutsList,
		protocol.MethodStreamingOutsUpdate, protocol.MethodStreamingOutsDelete)
}

// manageSessions registers list, update and delete of one session kind.
func (a *Agent) manageSessions(h map[string]handler, kind, list, update, remove string) {
	h[list] = onRoom(a, roomRoom, func(_ context.Context, r *room.Room, _ protocol.RoomRequest) (any, error) {
		return r.Sessions(kind)
	})
	h[update] = onRoom(a, updRoom, func(ctx context.Context, r *room.Room, v protocol.ItemUpdate) (any, error) {
		return r.UpdateSession(ctx, kind, v.ID, v.Ops)
	})
	h[remove] = onRoom(a, itemRoom, func(ctx context.Context, r *room.Room, v protocol.ItemRequest) (any, error) {
		return done(r.DeleteSession(ctx, kind, v.ID))
	})
}

// onAcquired adapts a request that makes its room live here if needed, retrying (like
// conf.join) when the room ended between being acquired and being used.
func onAcquired[T any](a *Agent, roomOf func(T) string, f func(context.Context, *room.Room, T) (any, error)) handler {
	return func(ctx context.Context, req bus.Request) (any, error) {
		v, err := decode[T](req)
		if err != nil {
			return nil, err
		}
		for attempt := 1; ; attempt++ {
			r, err := a.acquire(ctx, roomOf(v))
			if err != nil {
				return nil, err
			}
			res, err := f(ctx, r, v)
			if err != nil && r.Closed() && attempt < joinAttempts {
				continue
			}
			return res, err
		}
	}
}

// routeSession hands a SessionEvent to the room that knows the session.
func (a *Agent) routeSession(ev protocol.SessionEvent) {
	if !a.toRooms(func(r *room.Room) bool { return r.HandleSession(ev) }) {
		a.log.Debug("session event for an unknown session", "session", ev.ID, "type", ev.Type, "agent", ev.Agent)
	}
}

// routeMix hands a MixEvent to the room that knows the mix or transcode.
func (a *Agent) routeMix(ev protocol.MixEvent) {
	if !a.toRooms(func(r *room.Room) bool { return r.HandleMix(ev) }) {
		a.log.Debug("mix event for an unknown session", "session", ev.ID, "type", ev.Type, "agent", ev.Agent)
	}
}

// toRooms offers an event to each live room until one takes it.
func (a *Agent) toRooms(take func(*room.Room) bool) bool {
	a.mu.Lock()
	entries := make([]*entry, 0, len(a.rooms))
	for _, e := range a.rooms {
		entries = append(entries, e)
	}
	a.mu.Unlock()
	for _, e := range entries {
		select {
		case <-e.ready:
		default:
			continue
		}
		if e.err == nil && take(e.room) {
			return true
		}
	}
	return false
}
