package signaling

import (
	"context"
	"encoding/json"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/portal/internal/legacy"
	"github.com/conclave-rtc/conclave/portal/internal/rooms"
)

// op handles a request of a logged-in client.
type op func(c *Client, raw json.RawMessage, ack Ack)

// operation returns the handler of a room request, or nil for unknown events.
func (s *Session) operation(event string) op {
	switch event {
	case EvPublish:
		return s.publish
	case EvSubscribe:
		return s.subscribe
	case EvUnpublish:
		return s.idOp(MsgStreamID, protocol.MethodUnpublish)
	case EvUnsubscribe:
		return s.idOp(MsgSubscriptionID, protocol.MethodUnsubscribe)
	case EvStreamControl:
		return s.control(DecodeStreamControl, protocol.MethodStreamControl)
	case EvSubscriptionControl:
		return s.control(DecodeSubscriptionControl, protocol.MethodSubscriptionControl)
	case EvSoac:
		return s.soac
	case EvText:
		return s.text
	case EvChatSend, EvChatEdit, EvChatDelete, EvChatReact:
		return s.chat(event)
	case EvChatHistory:
		return s.chatHistory
	case EvUpdateName:
		return s.updateName
	case EvUpdateMediaState:
		return s.updateMediaState
	}
	return nil
}

// call sends a request to the client's conference agent.
func (s *Session) call(c *Client, method string, req, resp any) error {
	agent, _ := c.agentInfo()
	return s.hub.conf.Call(context.Background(), agent, method, req, resp)
}

// answer acks the outcome of a call: ('ok', result...) or ('error', message).
func answer(ack Ack, err error, result ...any) {
	if err != nil {
		_ = ack("error", rooms.Message(err))
		return
	}
	_ = ack(append([]any{"ok"}, result...)...)
}

// opResult is the `{id, transportId}` answer of publish and subscribe.
type opResult struct {
	ID          string `json:"id"`
	TransportID string `json:"transportId"`
}

// finishOp answers publish/subscribe with the agent's ids, defaulting to the portal's.
func finishOp(ack Ack, err error, res protocol.OperationResult, id, transportID string) {
	if res.ID == "" {
		res.ID = id
	}
	if res.TransportID == "" {
		res.TransportID = transportID
	}
	answer(ack, err, opResult{ID: res.ID, TransportID: res.TransportID})
}

// publish handles `publish` (1.2 tracks, or 1.1/1.0 media converted with Legacy set).
func (s *Session) publish(c *Client, raw json.RawMessage, ack Ack) {
	req := protocol.PublishRequest{RoomID: c.roomID, ParticipantID: c.id, StreamID: ids.UUIDHex()}
	if legacy.IsLegacy(c.protocol) {
		p, err := legacy.Publish(raw)
		if err != nil {
			_ = ack("error", err.Error())
			return
		}
		req.Tracks, req.Attributes, req.Legacy, req.TransportID = p.Tracks, p.Attributes, true, req.StreamID
	} else {
		p, err := DecodePublish(raw)
		if err != nil {
			_ = ack("error", err.Error())
			return
		}
		req.Tracks, req.Attributes, req.Data, req.TransportID = p.Tracks, p.Attributes, p.Data, p.Transport.ID
		if req.TransportID == "" {
			req.TransportID = req.StreamID
		}
	}
	var res protocol.OperationResult
	err := s.call(c, protocol.MethodPublish, req, &res)
	finishOp(ack, err, res, req.StreamID, req.TransportID)
}

// subscribe handles `subscribe`.
func (s *Session) subscribe(c *Client, raw json.RawMessage, ack Ack) {
	req := protocol.SubscribeRequest{RoomID: c.roomID, ParticipantID: c.id, SubscriptionID: ids.UUIDHex()}
	if legacy.IsLegacy(c.protocol) {
		tracks, err := legacy.Subscribe(raw, c.resolveRid)
		if err != nil {
			_ = ack("error", err.Error())
			return
		}
		req.Tracks, req.Legacy, req.TransportID = tracks, true, req.SubscriptionID
	} else {
		sub, err := DecodeSubscribe(raw)
		if err != nil {
			_ = ack("error", err.Error())
			return
		}
		req.Tracks, req.TransportID = sub.Tracks, sub.Transport.ID
		if req.TransportID == "" {
			req.TransportID = req.SubscriptionID
		}
	}
	var res protocol.OperationResult
	err := s.call(c, protocol.MethodSubscribe, req, &res)
	finishOp(ack, err, res, req.SubscriptionID, req.TransportID)
}

// idOp handles unpublish / unsubscribe `{id}`.
func (s *Session) idOp(badID, method string) op {
	return func(c *Client, raw json.RawMessage, ack Ack) {
		id, err := DecodeID(raw, badID)
		if err != nil {
			_ = ack("error", err.Error())
			return
		}
		req := protocol.OperationRequest{RoomID: c.roomID, ParticipantID: c.id, ID: id}
		answer(ack, s.call(c, method, req, nil))
	}
}

// control handles stream-control (answered with the agent's result, 'ok' when it has none)
// and subscription-control (answered without data).
func (s *Session) control(decode func(json.RawMessage) (Control, error), method string) op {
	return func(c *Client, raw json.RawMessage, ack Ack) {
		ctl, err := decode(raw)
		if err != nil {
			_ = ack("error", err.Error())
			return
		}
		req := protocol.ControlRequest{RoomID: c.roomID, ParticipantID: c.id, ID: ctl.ID,
			Operation: ctl.Operation, Data: ctl.Data}
		var res json.RawMessage
		err = s.call(c, method, req, &res)
		if method == protocol.MethodSubscriptionControl || err != nil {
			answer(ack, err)
			return
		}
		if len(res) == 0 || string(res) == "null" {
			res = json.RawMessage(`"ok"`)
		}
		answer(ack, nil, res)
	}
}

// soac handles `soac`.
func (s *Session) soac(c *Client, raw json.RawMessage, ack Ack) {
	m, err := DecodeSoac(raw)
	if err != nil {
		_ = ack("error", err.Error())
		return
	}
	req := protocol.SignalingRequest{RoomID: c.roomID, ParticipantID: c.id, TransportID: m.TransportID, Signaling: m.Signaling}
	answer(ack, s.call(c, protocol.MethodSignaling, req, nil))
}

// text handles `text`.
func (s *Session) text(c *Client, raw json.RawMessage, ack Ack) {
	t, err := DecodeText(raw)
	if err != nil {
		_ = ack("error", err.Error())
		return
	}
	req := protocol.TextRequest{RoomID: c.roomID, From: c.id, To: t.To, Message: t.Message}
	answer(ack, s.call(c, protocol.MethodText, req, nil))
}
