package protocol

import (
	"encoding/json"

	"github.com/conclave-rtc/conclave/common/store"
)

// Portal → conference agent RPCs (sent to the endpoint of the agent that owns the room, found
// through the lease LeaseName(roomID); docs/realtime.md). Every request names the room.
const (
	MethodJoin                = "conf.join"                // JoinRequest → JoinResult
	MethodLeave               = "conf.leave"               // ParticipantRequest
	MethodPublish             = "conf.publish"             // PublishRequest → OperationResult
	MethodUnpublish           = "conf.unpublish"           // OperationRequest
	MethodStreamControl       = "conf.streamControl"       // ControlRequest → json result
	MethodSubscribe           = "conf.subscribe"           // SubscribeRequest → OperationResult
	MethodUnsubscribe         = "conf.unsubscribe"         // OperationRequest
	MethodSubscriptionControl = "conf.subscriptionControl" // ControlRequest
	MethodSignaling           = "conf.soac"                // SignalingRequest
	MethodText                = "conf.text"                // TextRequest
	MethodParticipantUpdate   = "conf.participantUpdate"   // ParticipantUpdateRequest
)

// ErrNotOwner is the message of the error a conference agent answers when it does not own the
// room any more (the caller looks up the lease again).
const ErrNotOwner = "Room is owned by another conference agent"

// Joiner describes a participant joining a room.
type Joiner struct {
	ID       string           `json:"id"`
	User     string           `json:"user"`
	Role     string           `json:"role"`
	Portal   string           `json:"portal"` // the portal worker id that holds the client
	Origin   store.Preference `json:"origin"`
	Protocol string           `json:"protocol"` // "1.2", "1.1", "1.0"
}

// JoinRequest asks the conference agent to add a participant (scheduling the room on this
// agent first if it is not live).
type JoinRequest struct {
	RoomID      string `json:"roomId"`
	Participant Joiner `json:"participant"`
}

// JoinResult is what the portal turns into the login answer.
type JoinResult struct {
	Permission Permission `json:"permission"`
	Room       RoomInfo   `json:"room"`
	// Chat is the recent chat history the joiner may see (a Conclave extension, docs/chat.md).
	Chat *ChatHistory `json:"chat,omitempty"`
}

// ParticipantRequest names a participant of a room.
type ParticipantRequest struct {
	RoomID        string `json:"roomId"`
	ParticipantID string `json:"participantId"`
}

// PubTrack is one track of a publication request (1.2 form; the portal converts 1.1).
type PubTrack struct {
	Type   string `json:"type"`
	Mid    string `json:"mid"`
	Source string `json:"source"`
}

// PublishRequest is a client's publish, with ids chosen by the portal.
type PublishRequest struct {
	RoomID        string          `json:"roomId"`
	ParticipantID string          `json:"participantId"`
	StreamID      string          `json:"streamId"`
	TransportID   string          `json:"transportId"`
	Tracks        []PubTrack      `json:"tracks"`
	Attributes    json.RawMessage `json:"attributes,omitempty"`
	Data          bool            `json:"data,omitempty"`
	Legacy        bool            `json:"legacy,omitempty"` // protocol 1.1: one PeerConnection per operation
}

// SubTrack is one track of a subscription request.
type SubTrack struct {
	Type       string           `json:"type"`
	Mid        string           `json:"mid"`
	From       string           `json:"from"` // stream id or track id
	Format     *Format          `json:"format,omitempty"`
	Parameters *VideoParameters `json:"parameters,omitempty"`
}

// SubscribeRequest is a client's subscribe, with ids chosen by the portal.
type SubscribeRequest struct {
	RoomID         string     `json:"roomId"`
	ParticipantID  string     `json:"participantId"`
	SubscriptionID string     `json:"subscriptionId"`
	TransportID    string     `json:"transportId"`
	Tracks         []SubTrack `json:"tracks"`
	Legacy         bool       `json:"legacy,omitempty"`
}

// OperationResult answers publish and subscribe.
type OperationResult struct {
	ID          string `json:"id"`
	TransportID string `json:"transportId"`
}

// OperationRequest names a publication or subscription (unpublish, unsubscribe).
type OperationRequest struct {
	RoomID        string `json:"roomId"`
	ParticipantID string `json:"participantId"`
	ID            string `json:"id"`
}

// ControlRequest is a stream-control or subscription-control request.
type ControlRequest struct {
	RoomID        string          `json:"roomId"`
	ParticipantID string          `json:"participantId"`
	ID            string          `json:"id"`
	Operation     string          `json:"operation"`
	Data          json.RawMessage `json:"data"`
}

// SignalingRequest carries a soac message for a transport.
type SignalingRequest struct {
	RoomID        string    `json:"roomId"`
	ParticipantID string    `json:"participantId"`
	TransportID   string    `json:"transportId"`
	Signaling     Signaling `json:"signaling"`
}

// TextRequest is a text message; To is a participant id or "all".
type TextRequest struct {
	RoomID  string `json:"roomId"`
	From    string `json:"from"`
	To      string `json:"to"`
	Message string `json:"message"`
}

// Conference agent → portal notifications are bus events on PortalTopic(portalID).

// PortalTopic is the topic a portal subscribes to for its clients' notifications.
func PortalTopic(portalID string) string { return "portal." + portalID }

// PortalNotice delivers one client event to some participants held by one portal. Event
// EventDrop disconnects them.
type PortalNotice struct {
	RoomID       string          `json:"roomId"`
	Participants []string        `json:"participants"`
	Event        string          `json:"event"`
	Data         json.RawMessage `json:"data,omitempty"`
}
