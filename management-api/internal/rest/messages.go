package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/management-api/internal/respond"
	"github.com/conclave-rtc/conclave/management-api/internal/validate"
)

// Chat history pages of GET /rooms/{id}/messages (docs/chat.md).
const (
	messagesDefault = 50
	messagesMax     = 100
)

// registerMessages adds the chat message routes (a Conclave extension, docs/chat.md). Changes
// go to the room's conference agent when the room is live, so its participants see them; the
// history of a room that is not live is changed in the store.
func (a *API) registerMessages(g *gin.RouterGroup) {
	g.GET("/messages", a.listMessages)
	g.POST("/messages", a.postMessage)
	g.PATCH("/messages/:item", a.patchMessage)
	g.DELETE("/messages/:item", a.deleteMessage)
}

// messageOut is the REST form of a stored message.
func messageOut(m store.ChatMessage) protocol.ChatMessage {
	out := protocol.ChatMessage{ID: m.ID, From: m.From, To: m.To, Content: m.Content,
		Timestamp: m.Timestamp, Edited: m.Edited}
	if len(m.Reactions) > 0 {
		out.Reactions = m.Reactions
	}
	return out
}

// listMessages answers GET …/messages?before=&limit=: every message, direct ones included,
// oldest first.
func (a *API) listMessages(c *gin.Context) {
	before := c.Query("before")
	if before != "" && !validate.PathID(before) {
		respond.Error(c, errs.BadRequest("Invalid before: a message id"))
		return
	}
	limit := messagesDefault
	if l, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > messagesMax {
			respond.Error(c, errs.BadRequestf("Invalid limit: 1..%d", messagesMax))
			return
		}
		limit = n
	}
	msgs, err := a.deps.Store.ListMessages(c.Request.Context(), currentRoom(c).ID, before, limit)
	if err != nil {
		a.fail(c, err, "list messages")
		return
	}
	out := make([]protocol.ChatMessage, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, messageOut(m))
	}
	respond.JSON(c, out)
}

// messageBody is a POST or PATCH body; pointers tell absent keys from wrong types.
type messageBody struct {
	From    *string `json:"from"`
	To      *string `json:"to"`
	Content *string `json:"content"`
}

// parseMessage decodes a body strictly: no unknown keys, a non-empty content of at
// most protocol.MaxTextLength bytes, to when post is set and nothing but content otherwise.
func (a *API) parseMessage(c *gin.Context, post bool) (messageBody, bool) {
	data, ok := a.body(c)
	if !ok {
		return messageBody{}, false
	}
	var b messageBody
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(&b)
	switch {
	case err != nil:
		err = errs.BadRequestf("Invalid message: %v", err)
	case b.Content == nil || *b.Content == "":
		err = errs.BadRequest("content is required")
	case len(*b.Content) > protocol.MaxTextLength:
		err = errs.BadRequestf("content is longer than %d bytes", protocol.MaxTextLength)
	case post && (b.To == nil || *b.To == ""):
		err = errs.BadRequest(`to is required: "all" or a participant id`)
	case !post && (b.To != nil || b.From != nil):
		err = errs.BadRequest("only content can be changed")
	}
	if err != nil {
		respond.Error(c, err)
		return messageBody{}, false
	}
	return b, true
}

// postMessage answers POST …/messages {from?, to, content} with the new message.
func (a *API) postMessage(c *gin.Context) {
	b, ok := a.parseMessage(c, true)
	if !ok {
		return
	}
	roomID := currentRoom(c).ID
	req := protocol.ChatRequest{RoomID: roomID, To: *b.To, Content: *b.Content}
	if b.From != nil {
		req.From = *b.From
	}
	var out protocol.ChatMessage
	err := a.callLive(c.Request.Context(), roomID, protocol.MethodChatSend, a.cfg.CallTimeout, req, &out)
	if errors.Is(err, errNotLive) {
		out, err = a.storeMessage(c, req)
	}
	if err != nil {
		a.fail(c, err, "post message")
		return
	}
	respond.JSON(c, out)
}

// storeMessage adds a room message of the app server to the history of a room that is not
// live: nobody is in it, so a participant as sender or receiver is 404/1005.
func (a *API) storeMessage(c *gin.Context, req protocol.ChatRequest) (protocol.ChatMessage, error) {
	if (req.From != "" && req.From != protocol.ChatService) || req.To != protocol.ChatAll {
		return protocol.ChatMessage{}, errs.ParticipantNotFound()
	}
	m := store.ChatMessage{ID: ids.ObjectID(), RoomID: req.RoomID, From: protocol.ChatService,
		To: protocol.ChatAll, Content: req.Content, Timestamp: a.deps.Now().UnixMilli()}
	if err := a.deps.Store.AppendMessage(c.Request.Context(), m); err != nil {
		return protocol.ChatMessage{}, err
	}
	return messageOut(m), nil
}

// patchMessage answers PATCH …/messages/{mid} {content} with the edited message.
func (a *API) patchMessage(c *gin.Context) {
	id := c.Param("item")
	if !validate.PathID(id) {
		respond.Error(c, errs.MessageNotFound())
		return
	}
	b, ok := a.parseMessage(c, false)
	if !ok {
		return
	}
	roomID := currentRoom(c).ID
	req := protocol.ChatRequest{RoomID: roomID, ID: id, Content: *b.Content}
	var out protocol.ChatMessage
	err := a.callLive(c.Request.Context(), roomID, protocol.MethodChatEdit, a.cfg.CallTimeout, req, &out)
	if errors.Is(err, errNotLive) {
		out, err = a.editStored(c, req)
	}
	if err != nil {
		a.fail(c, err, "edit message")
		return
	}
	respond.JSON(c, out)
}

// editStored edits a message of a room that is not live. The history is bounded by the
// conference agents' retention (500 messages by default), so it is searched whole.
func (a *API) editStored(c *gin.Context, req protocol.ChatRequest) (protocol.ChatMessage, error) {
	ctx := c.Request.Context()
	msgs, err := a.deps.Store.ListMessages(ctx, req.RoomID, "", 0)
	if err != nil {
		return protocol.ChatMessage{}, err
	}
	for _, m := range msgs {
		if m.ID != req.ID {
			continue
		}
		m.Content, m.Edited = req.Content, a.deps.Now().UnixMilli()
		if err := a.deps.Store.UpdateMessage(ctx, m); err != nil {
			return protocol.ChatMessage{}, storeNotFound(err, errs.MessageNotFound())
		}
		return messageOut(m), nil
	}
	return protocol.ChatMessage{}, errs.MessageNotFound()
}

// deleteMessage answers DELETE …/messages/{mid} with an empty 200.
func (a *API) deleteMessage(c *gin.Context) {
	id := c.Param("item")
	if !validate.PathID(id) {
		respond.Error(c, errs.MessageNotFound())
		return
	}
	roomID := currentRoom(c).ID
	ctx := c.Request.Context()
	req := protocol.ChatRequest{RoomID: roomID, ID: id}
	err := a.callLive(ctx, roomID, protocol.MethodChatDelete, a.cfg.CallTimeout, req, nil)
	if errors.Is(err, errNotLive) {
		err = storeNotFound(a.deps.Store.DeleteMessage(ctx, roomID, id), errs.MessageNotFound())
	}
	if err != nil {
		a.fail(c, err, "delete message")
		return
	}
	respond.Empty(c)
}
