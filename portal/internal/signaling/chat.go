package signaling

import (
	"encoding/json"
	"strconv"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/portal/internal/check"
)

// Chat requests (a Conclave extension of OWT signaling that OWT SDKs never send; docs/chat.md).
const (
	EvChatSend    = "chat-send"
	EvChatEdit    = "chat-edit"
	EvChatDelete  = "chat-delete"
	EvChatReact   = "chat-react"
	EvChatHistory = "chat-history"
)

// chatEvents lists the chat requests.
var chatEvents = []string{EvChatSend, EvChatEdit, EvChatDelete, EvChatReact, EvChatHistory}

// chatMethods maps a chat request to its conference RPC.
var chatMethods = map[string]string{
	EvChatSend: protocol.MethodChatSend, EvChatEdit: protocol.MethodChatEdit,
	EvChatDelete: protocol.MethodChatDelete, EvChatReact: protocol.MethodChatReact,
}

// Chat request validation messages.
const (
	MsgChatRequest = "Invalid chat request"
	MsgChatID      = "Invalid message id"
	MsgChatContent = "Invalid message content"
	MsgChatLimit   = "Invalid history limit: 1..100"
)

// chatLimitMax is the largest chat-history page.
const chatLimitMax = 100

// DecodeChat validates a chat-send {to, content}, chat-edit {id, content}, chat-delete {id}
// or chat-react {id, reaction, add} request.
func DecodeChat(event string, raw json.RawMessage) (protocol.ChatRequest, error) {
	var out protocol.ChatRequest
	req, err := check.Object(raw, check.Root)
	if err != nil {
		return out, Failure(MsgChatRequest)
	}
	str := func(key, msg string, dst *string) error {
		s, ok, err := req.String(key)
		if err != nil || !ok || s == "" {
			return Failure(msg)
		}
		*dst = s
		return nil
	}
	switch event {
	case EvChatSend:
		err = firstErr(str("to", MsgReceiver, &out.To), str("content", MsgChatContent, &out.Content))
	case EvChatEdit:
		err = firstErr(str("id", MsgChatID, &out.ID), str("content", MsgChatContent, &out.Content))
	case EvChatDelete:
		err = str("id", MsgChatID, &out.ID)
	case EvChatReact:
		err = firstErr(str("id", MsgChatID, &out.ID), str("reaction", MsgChatRequest, &out.Reaction))
		if err == nil {
			out.Add, err = req.Bool("add")
		}
	}
	if err != nil {
		return protocol.ChatRequest{}, Failure(chatMessage(err))
	}
	return out, nil
}

// chatMessage keeps a Failure's message and turns a check error into MsgChatRequest.
func chatMessage(err error) string {
	if _, ok := err.(check.Error); ok {
		return MsgChatRequest
	}
	return err.Error()
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// DecodeChatHistory validates a chat-history request {before?, limit?}; no data at all is
// the newest page.
func DecodeChatHistory(raw json.RawMessage) (protocol.ChatHistoryRequest, error) {
	var out protocol.ChatHistoryRequest
	if check.IsNull(raw) {
		return out, nil
	}
	req, err := check.Object(raw, check.Root)
	if err != nil {
		return out, Failure(MsgChatRequest)
	}
	if out.Before, _, err = req.String("before"); err != nil {
		return out, Failure(MsgChatID)
	}
	if l := req.Raw("limit"); !check.IsNull(l) {
		n, err := strconv.Atoi(string(l))
		if err != nil || n < 1 || n > chatLimitMax {
			return out, Failure(MsgChatLimit)
		}
		out.Limit = n
	}
	return out, nil
}

// chat handles chat-send, chat-edit, chat-delete and chat-react.
func (s *Session) chat(event string) op {
	return func(c *Client, raw json.RawMessage, ack Ack) {
		req, err := DecodeChat(event, raw)
		if err != nil {
			_ = ack("error", err.Error())
			return
		}
		req.RoomID, req.ParticipantID = c.roomID, c.id
		if event == EvChatDelete {
			answer(ack, s.call(c, protocol.MethodChatDelete, req, nil))
			return
		}
		var m protocol.ChatMessage
		err = s.call(c, chatMethods[event], req, &m)
		answer(ack, err, chatAnswer{Message: m})
	}
}

// chatAnswer is the {message} answer of chat-send, chat-edit and chat-react.
type chatAnswer struct {
	Message protocol.ChatMessage `json:"message"`
}

// chatHistory handles chat-history.
func (s *Session) chatHistory(c *Client, raw json.RawMessage, ack Ack) {
	req, err := DecodeChatHistory(raw)
	if err != nil {
		_ = ack("error", err.Error())
		return
	}
	req.RoomID, req.ParticipantID = c.roomID, c.id
	var res protocol.ChatHistory
	err = s.call(c, protocol.MethodChatHistory, req, &res)
	if res.Messages == nil {
		res.Messages = []protocol.ChatMessage{}
	}
	answer(ack, err, res)
}
