package client

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// Chat requests of the Conclave chat extension (docs/chat.md).
const (
	reqChatSend    = "chat-send"
	reqChatEdit    = "chat-edit"
	reqChatDelete  = "chat-delete"
	reqChatReact   = "chat-react"
	reqChatHistory = "chat-history"
)

// OnChat registers a callback for `chat` events (new, edit, delete, react).
func (c *Client) OnChat(f func(protocol.ChatEvent)) { c.handlers.add(Events{Chat: f}) }

func (c *Client) onChat(raw json.RawMessage) {
	var ev protocol.ChatEvent
	if json.Unmarshal(raw, &ev) != nil {
		c.log.Debug("bad chat event", "data", string(raw))
		return
	}
	for _, f := range c.handlers.snapshot().chat {
		f(ev)
	}
}

// chatRequest sends a chat request answered with {message}.
func (c *Client) chatRequest(ctx context.Context, name string, req any) (protocol.ChatMessage, error) {
	data, err := c.request(ctx, name, req)
	if err != nil {
		return protocol.ChatMessage{}, err
	}
	var res struct {
		Message protocol.ChatMessage `json:"message"`
	}
	if err := json.Unmarshal(data, &res); err != nil || res.Message.ID == "" {
		return protocol.ChatMessage{}, fmt.Errorf("%w: %s answer %.200s", ErrBadResponse, name, data)
	}
	return res.Message, nil
}

// ChatSend sends a chat message to "all" or a participant id and returns it as stored.
func (c *Client) ChatSend(ctx context.Context, to, content string) (protocol.ChatMessage, error) {
	return c.chatRequest(ctx, reqChatSend, map[string]string{"to": to, "content": content})
}

// ChatEdit replaces the content of one of the client's messages.
func (c *Client) ChatEdit(ctx context.Context, id, content string) (protocol.ChatMessage, error) {
	return c.chatRequest(ctx, reqChatEdit, map[string]string{"id": id, "content": content})
}

// ChatDelete deletes a message: the client's own, or anyone's when its role moderates.
func (c *Client) ChatDelete(ctx context.Context, id string) error {
	_, err := c.request(ctx, reqChatDelete, map[string]string{"id": id})
	return err
}

// ChatReact adds (add true) or removes the client's reaction of a type (protocol.ChatReactions)
// to a message it may see.
func (c *Client) ChatReact(ctx context.Context, id, reaction string, add bool) (protocol.ChatMessage, error) {
	return c.chatRequest(ctx, reqChatReact, map[string]any{"id": id, "reaction": reaction, "add": add})
}

// ChatHistory returns up to limit (1..100; 0 means 50) messages before message before (""
// means the newest) that the client may see, oldest first.
func (c *Client) ChatHistory(ctx context.Context, before string, limit int) ([]protocol.ChatMessage, error) {
	req := map[string]any{}
	if before != "" {
		req["before"] = before
	}
	if limit != 0 {
		req["limit"] = limit
	}
	data, err := c.request(ctx, reqChatHistory, req)
	if err != nil {
		return nil, err
	}
	var res protocol.ChatHistory
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("%w: %s answer %.200s", ErrBadResponse, reqChatHistory, data)
	}
	return res.Messages, nil
}
