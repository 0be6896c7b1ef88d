package protocol

// Chat RPCs (a Conclave extension, docs/chat.md), sent to the room's conference agent by the
// portal (for a participant) and by the management API (for the app server, ParticipantID
// empty).
const (
	MethodChatSend    = "conf.chatSend"    // ChatRequest → ChatMessage
	MethodChatEdit    = "conf.chatEdit"    // ChatRequest → ChatMessage
	MethodChatDelete  = "conf.chatDelete"  // ChatRequest
	MethodChatReact   = "conf.chatReact"   // ChatRequest → ChatMessage
	MethodChatHistory = "conf.chatHistory" // ChatHistoryRequest → ChatHistory
)

// MaxTextLength caps the content of a chat or `text` message, in bytes (OWT enforces none;
// its spec says 2048 characters).
const MaxTextLength = 16 << 10

// EventChat is the Conclave `chat` client event (ChatEvent); OWT SDKs ignore it.
const EventChat = "chat"

// Chat event actions.
const (
	ChatNew    = "new"
	ChatEdit   = "edit"
	ChatDelete = "delete"
	ChatReact  = "react"
)

// ChatAll is the `to` of a message for the whole room; ChatService the `from` of a message
// the app server sent without naming a participant.
const (
	ChatAll     = "all"
	ChatService = "service"
)

// ChatReactions lists the reaction types, in display order.
var ChatReactions = []string{"thumbsUp", "thumbsDown", "laugh", "confused", "celebrate",
	"oneHundred", "questionMark", "clap"}

// ChatMessage is a chat message as clients and the REST API see it. Times are unix
// milliseconds; Edited is absent when the message was never edited, Reactions when it has
// none. Deleted is set only in the `chat` delete event (with an empty Content).
type ChatMessage struct {
	ID        string              `json:"id"`
	From      string              `json:"from"`
	To        string              `json:"to"`
	Content   string              `json:"content"`
	Timestamp int64               `json:"timestamp"`
	Edited    int64               `json:"edited,omitempty"`
	Reactions map[string][]string `json:"reactions,omitempty"`
	Deleted   bool                `json:"deleted,omitempty"`
}

// ChatRequest is a chat-send, chat-edit, chat-delete or chat-react request. ParticipantID is
// the requester; empty for the app server (management API), which may edit and delete any
// message and names the sender in From (a participant of the live room, or "" for
// ChatService).
type ChatRequest struct {
	RoomID        string `json:"roomId"`
	ParticipantID string `json:"participantId,omitempty"`
	From          string `json:"from,omitempty"`
	ID            string `json:"id,omitempty"`
	To            string `json:"to,omitempty"`
	Content       string `json:"content,omitempty"`
	Reaction      string `json:"reaction,omitempty"`
	Add           bool   `json:"add,omitempty"`
}

// ChatHistoryRequest asks for the Limit messages before message Before ("" = the newest)
// that ParticipantID may see (empty: the app server, which sees every message).
type ChatHistoryRequest struct {
	RoomID        string `json:"roomId"`
	ParticipantID string `json:"participantId,omitempty"`
	Before        string `json:"before,omitempty"`
	Limit         int    `json:"limit,omitempty"`
}

// ChatHistory is a page of messages, oldest first; also the `chat` field of the login answer.
type ChatHistory struct {
	Messages []ChatMessage `json:"messages"`
}

// ChatEvent is the `chat` event.
type ChatEvent struct {
	Action  string      `json:"action"`
	Message ChatMessage `json:"message"`
}
