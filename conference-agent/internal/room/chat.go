package room

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/store"
)

// Chat defaults (docs/chat.md).
const (
	DefaultChatMaxMessages = 500
	DefaultChatMaxBytes    = 256 << 10
	// ChatHistoryDefault and ChatHistoryMax bound a chat-history page; the login answer
	// carries ChatHistoryDefault messages.
	ChatHistoryDefault = 50
	ChatHistoryMax     = 100
)

// Chat messages (Conclave extension; sent to clients as they are).
const (
	msgInvalidContent  = "Invalid message content"
	msgMessageNotFound = "Message not found"
	msgNotYourMessage  = "Only the sender may edit a message"
	msgCannotDelete    = "Only the sender or a moderator may delete a message"
	msgInvalidReaction = "Invalid reaction"
	msgNoReactor       = "Reactions need a participant"
	msgInvalidSender   = "Invalid sender"
	msgChatUnavailable = "Chat history is unavailable"
)

// ChatStore persists a room's chat history (satisfied by store.Store). The room writes
// through: a message changes in memory only after the store accepted the change.
type ChatStore interface {
	AppendMessage(ctx context.Context, m store.ChatMessage) error
	UpdateMessage(ctx context.Context, m store.ChatMessage) error
	DeleteMessage(ctx context.Context, roomID, id string) error
	ListMessages(ctx context.Context, roomID, before string, limit int) ([]store.ChatMessage, error)
	TrimMessages(ctx context.Context, roomID, keepFrom string) (int, error)
}

// ChatLimits bounds a room's chat history; zero fields take the defaults.
type ChatLimits struct {
	MaxMessages int // messages kept (500)
	MaxBytes    int // bytes of content kept (256 KiB)
}

func (l ChatLimits) withDefaults() ChatLimits {
	if l.MaxMessages <= 0 {
		l.MaxMessages = DefaultChatMaxMessages
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultChatMaxBytes
	}
	return l
}

// memoryChat is the ChatStore of rooms without a store: nothing is persisted.
type memoryChat struct{}

func (memoryChat) AppendMessage(context.Context, store.ChatMessage) error { return nil }
func (memoryChat) UpdateMessage(context.Context, store.ChatMessage) error { return nil }
func (memoryChat) DeleteMessage(context.Context, string, string) error    { return nil }
func (memoryChat) ListMessages(context.Context, string, string, int) ([]store.ChatMessage, error) {
	return nil, nil
}
func (memoryChat) TrimMessages(context.Context, string, string) (int, error) { return 0, nil }

// chatFailure is a store failure reported to the requester (500/1401).
func chatFailure(err error) *errs.Error {
	return errs.New(http.StatusInternalServerError, errs.CodeDatabase, fmt.Sprintf("%s: %v", msgChatUnavailable, err))
}

// messageNotFound is 404 for REST and the same message for clients.
func messageNotFound() *errs.Error {
	return errs.New(http.StatusNotFound, errs.CodeNotFound, msgMessageNotFound)
}

// wire is the message as clients see it.
func wire(m store.ChatMessage) protocol.ChatMessage {
	out := protocol.ChatMessage{ID: m.ID, From: m.From, To: m.To, Content: m.Content,
		Timestamp: m.Timestamp, Edited: m.Edited}
	if len(m.Reactions) > 0 {
		out.Reactions = m.Reactions
	}
	return out
}

// visible reports whether participant may see m ("" is the app server, who sees all).
func visible(m store.ChatMessage, participant string) bool {
	return participant == "" || m.To == protocol.ChatAll || m.From == participant || m.To == participant
}

// LoadChat reads the room's history from the store (the newest MaxMessages, then cut to
// MaxBytes) and drops older stored messages; the agent calls it before the room serves.
func (r *Room) LoadChat(ctx context.Context) error {
	msgs, err := r.chatStore.ListMessages(ctx, r.id, "", r.chatLimits.MaxMessages)
	if err != nil {
		return fmt.Errorf("room %s: load chat: %w", r.id, err)
	}
	r.chatMu.Lock()
	defer r.chatMu.Unlock()
	r.mu.Lock()
	r.chat = msgs
	r.chatBytes = 0
	for _, m := range msgs {
		r.chatBytes += len(m.Content)
	}
	r.mu.Unlock()
	r.trimChat(ctx)
	if len(msgs) > 0 {
		if _, err := r.chatStore.TrimMessages(ctx, r.id, r.chat[0].ID); err != nil {
			r.log.Warn("chat trim failed", "err", err)
		}
	}
	return nil
}

// chatIndex returns the position of message id in r.chat, or -1; r.mu or r.chatMu is held.
func (r *Room) chatIndex(id string) int {
	i, ok := slices.BinarySearchFunc(r.chat, id, func(m store.ChatMessage, id string) int {
		switch {
		case m.ID < id:
			return -1
		case m.ID > id:
			return 1
		}
		return 0
	})
	if !ok {
		return -1
	}
	return i
}

// trimChat drops the oldest messages beyond the limits (always keeping the newest) from
// memory and the store; r.chatMu is held. A failed store trim is retried by the next one.
func (r *Room) trimChat(ctx context.Context) {
	r.mu.Lock()
	n := 0
	for len(r.chat)-n > 1 && (len(r.chat)-n > r.chatLimits.MaxMessages || r.chatBytes > r.chatLimits.MaxBytes) {
		r.chatBytes -= len(r.chat[n].Content)
		n++
	}
	if n == 0 {
		r.mu.Unlock()
		return
	}
	r.chat = slices.Delete(r.chat, 0, n)
	keepFrom := r.chat[0].ID
	r.mu.Unlock()
	if _, err := r.chatStore.TrimMessages(ctx, r.id, keepFrom); err != nil {
		r.log.Warn("chat trim failed", "err", err)
	}
}

// emitChat sends the `chat` event to the message's scope: everyone for a room message, the
// sender and the receiver of a direct one; r.mu is held.
func (r *Room) emitChat(action string, m protocol.ChatMessage) {
	ev := protocol.ChatEvent{Action: action, Message: m}
	if m.To == protocol.ChatAll {
		r.broadcast(protocol.EventChat, ev)
		return
	}
	r.send(m.From, protocol.EventChat, ev)
	if m.To != m.From {
		r.send(m.To, protocol.EventChat, ev)
	}
}

// emitText sends the OWT `text` event of a new message (owt-protocol.md §4.4); r.mu is held.
func (r *Room) emitText(m store.ChatMessage) {
	if m.To == protocol.ChatAll {
		r.broadcast(protocol.EventText, protocol.TextEvent{From: m.From, To: "all", Message: m.Content})
		return
	}
	r.send(m.To, protocol.EventText, protocol.TextEvent{From: m.From, To: "me", Message: m.Content})
}

// checkNew validates a new message from from (a participant, or ChatService when the app
// server sends) to to; r.mu is held.
func (r *Room) checkNew(from, to, content string, emptyOK bool) error {
	if from != protocol.ChatService {
		if _, ok := r.participants[from]; !ok {
			return failure(msgNotJoined)
		}
	}
	switch {
	case to == "":
		return failure(msgInvalidReceiver)
	case len(content) > MaxTextLength:
		return failure(msgTextTooLong)
	case content == "" && !emptyOK:
		return failure(msgInvalidContent)
	case to == protocol.ChatAll:
		return nil
	}
	if _, ok := r.participants[to]; !ok {
		return failure(msgTargetNotExist + to)
	}
	return nil
}

// post stores and delivers a new message: `chat` new to its scope, and the OWT `text` event.
func (r *Room) post(ctx context.Context, from, to, content string, emptyOK bool) (protocol.ChatMessage, error) {
	r.chatMu.Lock()
	defer r.chatMu.Unlock()
	if err := r.lockOpen(); err != nil {
		return protocol.ChatMessage{}, err
	}
	err := r.checkNew(from, to, content, emptyOK)
	r.mu.Unlock()
	if err != nil {
		return protocol.ChatMessage{}, err
	}
	m := store.ChatMessage{ID: ids.ObjectID(), RoomID: r.id, From: from, To: to, Content: content,
		Timestamp: r.deps.Now().UnixMilli()}
	if err := r.chatStore.AppendMessage(ctx, m); err != nil {
		return protocol.ChatMessage{}, chatFailure(err)
	}
	r.mu.Lock()
	r.chat = append(r.chat, m)
	r.chatBytes += len(m.Content)
	r.emitText(m)
	r.emitChat(protocol.ChatNew, wire(m))
	r.mu.Unlock()
	r.trimChat(ctx)
	return wire(m), nil
}

// Text delivers an OWT text message: to "all" everyone including the sender gets `{from, to:
// 'all', message}`; a direct message reaches its target as `{from, to: 'me', message}`. The
// message joins the chat history and its scope also gets the `chat` new event.
func (r *Room) Text(ctx context.Context, req protocol.TextRequest) error {
	_, err := r.post(ctx, req.From, req.To, req.Message, true)
	return err
}

// ChatSend is chat-send (a participant) or the REST POST (ParticipantID empty: the app server
// sends as req.From, a live participant, or as ChatService).
func (r *Room) ChatSend(ctx context.Context, req protocol.ChatRequest) (protocol.ChatMessage, error) {
	from := req.ParticipantID
	if from == "" {
		from = req.From
		if from == "" || from == protocol.ChatService {
			from = protocol.ChatService
		} else if !r.hasParticipant(from) {
			return protocol.ChatMessage{}, participantNotFound()
		}
	}
	return r.post(ctx, from, req.To, req.Content, false)
}

func (r *Room) hasParticipant(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.participants[id]
	return ok
}

// change applies f to a copy of message id that requester may see, writes it through and
// announces it as action; f returns its refusal. r.chatMu is taken.
func (r *Room) change(ctx context.Context, requester, id, action string,
	f func(m *store.ChatMessage) error) (protocol.ChatMessage, error) {
	r.chatMu.Lock()
	defer r.chatMu.Unlock()
	if err := r.lockOpen(); err != nil {
		return protocol.ChatMessage{}, err
	}
	m, err := r.editable(requester, id)
	if err == nil {
		err = f(&m)
	}
	r.mu.Unlock()
	if err != nil {
		return protocol.ChatMessage{}, err
	}
	if err := r.chatStore.UpdateMessage(ctx, m); err != nil {
		return protocol.ChatMessage{}, chatFailure(err)
	}
	r.mu.Lock()
	if i := r.chatIndex(id); i >= 0 {
		r.chatBytes += len(m.Content) - len(r.chat[i].Content)
		r.chat[i] = m
	}
	r.emitChat(action, wire(m))
	r.mu.Unlock()
	r.trimChat(ctx)
	return wire(m), nil
}

// editable returns a copy of message id if requester ("" = app server) has joined and may
// see it; r.mu is held.
func (r *Room) editable(requester, id string) (store.ChatMessage, error) {
	if _, ok := r.participants[requester]; requester != "" && !ok {
		return store.ChatMessage{}, failure(msgNotJoined)
	}
	i := r.chatIndex(id)
	if i < 0 || !visible(r.chat[i], requester) {
		return store.ChatMessage{}, messageNotFound()
	}
	m := r.chat[i]
	m.Reactions = cloneReactions(m.Reactions)
	return m, nil
}

func cloneReactions(in map[string][]string) map[string][]string {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string][]string, len(in))
	for k, v := range in {
		out[k] = slices.Clone(v)
	}
	return out
}

// ChatEdit is chat-edit: only the sender (or the app server) edits a message.
func (r *Room) ChatEdit(ctx context.Context, req protocol.ChatRequest) (protocol.ChatMessage, error) {
	return r.change(ctx, req.ParticipantID, req.ID, protocol.ChatEdit, func(m *store.ChatMessage) error {
		switch {
		case req.ParticipantID != "" && m.From != req.ParticipantID:
			return failure(msgNotYourMessage)
		case req.Content == "":
			return failure(msgInvalidContent)
		case len(req.Content) > MaxTextLength:
			return failure(msgTextTooLong)
		}
		m.Content, m.Edited = req.Content, r.deps.Now().UnixMilli()
		return nil
	})
}

// ChatReact is chat-react: anyone who may see the message adds or removes one reaction of a
// type.
func (r *Room) ChatReact(ctx context.Context, req protocol.ChatRequest) (protocol.ChatMessage, error) {
	return r.change(ctx, req.ParticipantID, req.ID, protocol.ChatReact, func(m *store.ChatMessage) error {
		switch {
		case req.ParticipantID == "":
			return failure(msgNoReactor)
		case !slices.Contains(protocol.ChatReactions, req.Reaction):
			return failure(msgInvalidReaction)
		}
		who := m.Reactions[req.Reaction]
		has := slices.Contains(who, req.ParticipantID)
		switch {
		case req.Add && !has:
			who = append(who, req.ParticipantID)
		case !req.Add && has:
			who = slices.DeleteFunc(who, func(p string) bool { return p == req.ParticipantID })
		}
		if m.Reactions == nil {
			m.Reactions = map[string][]string{}
		}
		m.Reactions[req.Reaction] = who
		if len(who) == 0 {
			delete(m.Reactions, req.Reaction)
		}
		return nil
	})
}

// ChatDelete is chat-delete: the sender, a participant whose role moderates, or the app
// server removes a message; its scope gets `chat` delete with the content emptied.
func (r *Room) ChatDelete(ctx context.Context, req protocol.ChatRequest) error {
	r.chatMu.Lock()
	defer r.chatMu.Unlock()
	if err := r.lockOpen(); err != nil {
		return err
	}
	m, err := r.editable(req.ParticipantID, req.ID)
	if p := r.participants[req.ParticipantID]; err == nil && p != nil && m.From != p.info.ID && !p.moderate {
		err = failure(msgCannotDelete)
	}
	r.mu.Unlock()
	if err != nil {
		return err
	}
	if err := r.chatStore.DeleteMessage(ctx, r.id, m.ID); err != nil {
		return chatFailure(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if i := r.chatIndex(m.ID); i >= 0 {
		r.chatBytes -= len(r.chat[i].Content)
		r.chat = slices.Delete(r.chat, i, i+1)
	}
	gone := wire(m)
	gone.Content, gone.Reactions, gone.Deleted = "", nil, true
	r.emitChat(protocol.ChatDelete, gone)
	return nil
}

// ChatHistory is chat-history: up to req.Limit (default 50, at most 100) messages before
// message req.Before that the requester may see, oldest first.
func (r *Room) ChatHistory(req protocol.ChatHistoryRequest) (protocol.ChatHistory, error) {
	if req.Limit < 0 || req.Limit > ChatHistoryMax {
		return protocol.ChatHistory{}, badRequest(fmt.Sprintf("limit must be 1..%d", ChatHistoryMax))
	}
	if req.Limit == 0 {
		req.Limit = ChatHistoryDefault
	}
	if err := r.lockOpen(); err != nil {
		return protocol.ChatHistory{}, err
	}
	defer r.mu.Unlock()
	if _, ok := r.participants[req.ParticipantID]; req.ParticipantID != "" && !ok {
		return protocol.ChatHistory{}, failure(msgNotJoined)
	}
	return r.historyLocked(req.ParticipantID, req.Before, req.Limit), nil
}

// historyLocked returns up to limit messages below before ("" = all) that participant may
// see, oldest first; r.mu is held.
func (r *Room) historyLocked(participant, before string, limit int) protocol.ChatHistory {
	out := []protocol.ChatMessage{}
	for i := len(r.chat) - 1; i >= 0 && len(out) < limit; i-- {
		m := r.chat[i]
		if (before == "" || m.ID < before) && visible(m, participant) {
			out = append(out, wire(m))
		}
	}
	slices.Reverse(out)
	return protocol.ChatHistory{Messages: out}
}
