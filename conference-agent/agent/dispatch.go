package agent

import (
	"context"
	"encoding/json"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/conference-agent/internal/room"
)

// handler serves one RPC method.
type handler func(ctx context.Context, req bus.Request) (any, error)

// joinAttempts bounds the retries of a join that met a room ending at that very moment.
const joinAttempts = 3

// handle dispatches an RPC request.
func (a *Agent) handle(ctx context.Context, req bus.Request) (any, error) {
	h, ok := a.handlers[req.Method]
	if !ok {
		return nil, errs.BadRequest("Unknown method: " + req.Method)
	}
	return h(ctx, req)
}

// decode unmarshals a request body.
func decode[T any](req bus.Request) (T, error) {
	var v T
	if err := req.Decode(&v); err != nil {
		return v, errs.BadRequest("Invalid request")
	}
	return v, nil
}

// onRoom adapts a request on a room this agent must already own.
func onRoom[T any](a *Agent, roomOf func(T) string, f func(context.Context, *room.Room, T) (any, error)) handler {
	return func(ctx context.Context, req bus.Request) (any, error) {
		v, err := decode[T](req)
		if err != nil {
			return nil, err
		}
		r, err := a.live(roomOf(v))
		if err != nil {
			return nil, err
		}
		return f(ctx, r, v)
	}
}

// done adapts an error-only room operation.
func done(err error) (any, error) { return nil, err }

// Request room accessors.
func partRoom(v protocol.ParticipantRequest) string    { return v.RoomID }
func pubRoom(v protocol.PublishRequest) string         { return v.RoomID }
func subRoom(v protocol.SubscribeRequest) string       { return v.RoomID }
func opRoom(v protocol.OperationRequest) string        { return v.RoomID }
func ctlRoom(v protocol.ControlRequest) string         { return v.RoomID }
func sigRoom(v protocol.SignalingRequest) string       { return v.RoomID }
func textRoom(v protocol.TextRequest) string           { return v.RoomID }
func itemRoom(v protocol.ItemRequest) string           { return v.RoomID }
func updRoom(v protocol.ItemUpdate) string             { return v.RoomID }
func roomRoom(v protocol.RoomRequest) string           { return v.RoomID }
func chatRoom(v protocol.ChatRequest) string           { return v.RoomID }
func historyRoom(v protocol.ChatHistoryRequest) string { return v.RoomID }

// chatRoutes adds the chat RPCs (docs/chat.md), served for portals and the management API.
func chatRoutes(a *Agent, h map[string]handler) {
	h[protocol.MethodChatSend] = onRoom(a, chatRoom, func(ctx context.Context, r *room.Room, v protocol.ChatRequest) (any, error) {
		return r.ChatSend(ctx, v)
	})
	h[protocol.MethodChatEdit] = onRoom(a, chatRoom, func(ctx context.Context, r *room.Room, v protocol.ChatRequest) (any, error) {
		return r.ChatEdit(ctx, v)
	})
	h[protocol.MethodChatReact] = onRoom(a, chatRoom, func(ctx context.Context, r *room.Room, v protocol.ChatRequest) (any, error) {
		return r.ChatReact(ctx, v)
	})
	h[protocol.MethodChatDelete] = onRoom(a, chatRoom, func(ctx context.Context, r *room.Room, v protocol.ChatRequest) (any, error) {
		return done(r.ChatDelete(ctx, v))
	})
	h[protocol.MethodChatHistory] = onRoom(a, historyRoom, func(_ context.Context, r *room.Room, v protocol.ChatHistoryRequest) (any, error) {
		return r.ChatHistory(v)
	})
}

// routes is the RPC method table.
func (a *Agent) routes() map[string]handler {
	h := map[string]handler{
		protocol.MethodJoin: a.join,
		protocol.MethodLeave: onRoom(a, partRoom, func(_ context.Context, r *room.Room, v protocol.ParticipantRequest) (any, error) {
			return done(r.Leave(v.ParticipantID))
		}),
		protocol.MethodPublish: onRoom(a, pubRoom, func(ctx context.Context, r *room.Room, v protocol.PublishRequest) (any, error) {
			return r.Publish(ctx, v)
		}),
		protocol.MethodUnpublish: onRoom(a, opRoom, func(_ context.Context, r *room.Room, v protocol.OperationRequest) (any, error) {
			return done(r.Unpublish(v.ParticipantID, v.ID))
		}),
		protocol.MethodStreamControl: onRoom(a, ctlRoom, func(ctx context.Context, r *room.Room, v protocol.ControlRequest) (any, error) {
			return r.StreamControl(ctx, v)
		}),
		protocol.MethodSubscribe: onRoom(a, subRoom, func(ctx context.Context, r *room.Room, v protocol.SubscribeRequest) (any, error) {
			return r.Subscribe(ctx, v)
		}),
		protocol.MethodUnsubscribe: onRoom(a, opRoom, func(_ context.Context, r *room.Room, v protocol.OperationRequest) (any, error) {
			return done(r.Unsubscribe(v.ParticipantID, v.ID))
		}),
		protocol.MethodSubscriptionControl: onRoom(a, ctlRoom, func(ctx context.Context, r *room.Room, v protocol.ControlRequest) (any, error) {
			return done(r.SubscriptionControl(ctx, v))
		}),
		protocol.MethodSignaling: onRoom(a, sigRoom, func(ctx context.Context, r *room.Room, v protocol.SignalingRequest) (any, error) {
			return done(r.Signaling(ctx, v))
		}),
		protocol.MethodText: onRoom(a, textRoom, func(ctx context.Context, r *room.Room, v protocol.TextRequest) (any, error) {
			return done(r.Text(ctx, v))
		}),
		protocol.MethodParticipantUpdate: onRoom(a, func(v protocol.ParticipantUpdateRequest) string { return v.RoomID },
			func(ctx context.Context, r *room.Room, v protocol.ParticipantUpdateRequest) (any, error) {
				return done(r.UpdatePerson(ctx, v))
			}),
	}
	chatRoutes(a, h)
	for method, f := range a.managementRoutes() {
		h[method] = f
	}
	return h
}

// join serves conf.join, making the room live here first if needed.
func (a *Agent) join(ctx context.Context, req bus.Request) (any, error) {
	v, err := decode[protocol.JoinRequest](req)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		r, err := a.acquire(ctx, v.RoomID)
		if err != nil {
			return nil, err
		}
		res, err := r.Join(ctx, v.Participant)
		if err != nil && r.Closed() && attempt < joinAttempts {
			continue // the room ended between acquire and Join: make it live again
		}
		return res, err
	}
}

// managementRoutes are the management API's room RPCs.
func (a *Agent) managementRoutes() map[string]handler {
	h := map[string]handler{
		protocol.MethodRoomDestroy: func(_ context.Context, req bus.Request) (any, error) {
			v, err := decode[protocol.RoomRequest](req)
			if err == nil {
				a.destroy(v.RoomID)
			}
			return nil, err
		},
		protocol.MethodParticipantsList: onRoom(a, roomRoom, func(_ context.Context, r *room.Room, _ protocol.RoomRequest) (any, error) {
			return r.Participants()
		}),
		protocol.MethodParticipantsGet: onRoom(a, itemRoom, func(ctx context.Context, r *room.Room, v protocol.ItemRequest) (any, error) {
			return r.ParticipantWithStats(ctx, v.ID)
		}),
		protocol.MethodParticipantsUpdate: onRoom(a, updRoom, func(_ context.Context, r *room.Room, v protocol.ItemUpdate) (any, error) {
			return r.UpdateParticipant(v.ID, v.Ops)
		}),
		protocol.MethodParticipantsDrop: onRoom(a, itemRoom, func(_ context.Context, r *room.Room, v protocol.ItemRequest) (any, error) {
			return done(r.Drop(v.ID))
		}),
		protocol.MethodStreamsList: onRoom(a, roomRoom, func(_ context.Context, r *room.Room, _ protocol.RoomRequest) (any, error) {
			return r.Streams()
		}),
		protocol.MethodStreamsGet: onRoom(a, itemRoom, func(_ context.Context, r *room.Room, v protocol.ItemRequest) (any, error) {
			return r.Stream(v.ID)
		}),
		protocol.MethodStreamsUpdate: onRoom(a, updRoom, func(ctx context.Context, r *room.Room, v protocol.ItemUpdate) (any, error) {
			return r.UpdateStream(ctx, v.ID, v.Ops)
		}),
		protocol.MethodStreamsDelete: onRoom(a, itemRoom, func(_ context.Context, r *room.Room, v protocol.ItemRequest) (any, error) {
			return done(r.DeleteStream(v.ID))
		}),
	}
	a.sessionRoutes(h)
	a.addOutputs(h, "sip", protocol.MethodSipCallsList, protocol.MethodSipCallsAdd,
		protocol.MethodSipCallsUpdate, protocol.MethodSipCallsDelete,
		addSources[protocol.SipCall], errs.SipCallNotFound)
	a.addOutputs(h, "analytics", protocol.MethodAnalyticsList, protocol.MethodAnalyticsAdd,
		"", protocol.MethodAnalyticsDelete,
		addSources[protocol.Analytics], errs.AnalyticsNotFound)
	return h
}

// noAgent is the honest answer for server-side work whose agents do not exist yet.
func noAgent(purpose string) *errs.Error { return errs.Cluster("No " + purpose + " agent available") }

// addOutputs registers a server-side subscription kind: an empty list, notFound for items
// (the answer the management API gives when the room is not live), and adds that check
// their sources (404/1004 `Stream not found`) and then fail with 500/1201 because no agent
// of purpose exists yet.
func (a *Agent) addOutputs(h map[string]handler, purpose, list, add, update, remove string,
	sources func(bus.Request) (string, []string, error), notFound func() *errs.Error) {
	h[list] = onRoom(a, roomRoom, func(context.Context, *room.Room, protocol.RoomRequest) (any, error) {
		return []json.RawMessage{}, nil
	})
	h[add] = func(_ context.Context, req bus.Request) (any, error) {
		roomID, from, err := sources(req)
		if err != nil {
			return nil, err
		}
		r, err := a.live(roomID)
		if err != nil {
			return nil, err
		}
		for _, id := range from {
			if !r.HasStream(id) {
				return nil, errs.StreamNotFound()
			}
		}
		return nil, noAgent(purpose)
	}
	if update != "" {
		h[update] = onRoom(a, updRoom, func(context.Context, *room.Room, protocol.ItemUpdate) (any, error) {
			return nil, notFound()
		})
	}
	h[remove] = onRoom(a, itemRoom, func(context.Context, *room.Room, protocol.ItemRequest) (any, error) {
		return nil, notFound()
	})
}

// sourced is a server-side subscription spec that names its source streams.
type sourced interface {
	protocol.SipCall | protocol.Analytics
}

// addSources decodes an add request and lists the stream ids it subscribes to.
func addSources[T sourced](req bus.Request) (string, []string, error) {
	v, err := decode[protocol.AddRequest[T]](req)
	if err != nil {
		return "", nil, err
	}
	m := mediaSources(v.Spec)
	var from []string
	if m.Audio != nil {
		from = append(from, m.Audio.From)
	}
	if m.Video != nil {
		from = append(from, m.Video.From)
	}
	return v.RoomID, from, nil
}

// mediaSources returns the subscribed media of a server-side subscription spec.
func mediaSources(spec any) protocol.OutMedia {
	switch s := spec.(type) {
	case protocol.SipCall:
		return s.MediaOut
	case protocol.Analytics:
		return s.Media
	}
	return protocol.OutMedia{}
}
