package protocol

import "encoding/json"

// The client-facing OWT signaling shapes (owt-protocol.md §4). The conference agent builds
// them in the protocol 1.2 form; the portal converts them for 1.1/1.0 clients.

// ParticipantInfo is `{id, user, role}` as sent in login results and participant events.
type ParticipantInfo struct {
	ID   string `json:"id"`
	User string `json:"user"`
	Role string `json:"role"`
	// Name and MediaState are Conclave extensions (OWT SDKs ignore them): the display name
	// the participant chose during the call (update-name) and whether its camera and
	// microphone are on (update-mediaState); absent until set (docs/people.md).
	Name       string      `json:"name,omitempty"`
	MediaState *MediaState `json:"mediaState,omitempty"`
}

// MediaState is whether a participant's camera and microphone are on.
type MediaState struct {
	Camera     bool `json:"cameraEnabled"`
	Microphone bool `json:"microphoneEnabled"`
}

// ParticipantUpdateRequest changes a participant's display name and/or media state
// (conf.participantUpdate); nil fields stay as they are.
type ParticipantUpdateRequest struct {
	RoomID        string  `json:"roomId"`
	ParticipantID string  `json:"participantId"`
	Name          *string `json:"name,omitempty"`
	Camera        *bool   `json:"cameraEnabled,omitempty"`
	Microphone    *bool   `json:"microphoneEnabled,omitempty"`
}

// AV is an `{audio, video}` pair of booleans.
type AV struct {
	Audio bool `json:"audio"`
	Video bool `json:"video"`
}

// Permission is what a participant may publish and subscribe (no `data` keys, as OWT).
type Permission struct {
	Publish   AV `json:"publish"`
	Subscribe AV `json:"subscribe"`
}

// Format is an audio format ({codec, sampleRate?, channelNum?}) or a video format ({codec,
// profile?}), whichever the track's type says.
type Format struct {
	Codec      string `json:"codec"`
	SampleRate int    `json:"sampleRate,omitempty"`
	ChannelNum int    `json:"channelNum,omitempty"`
	Profile    string `json:"profile,omitempty"`
}

// OptionalParameters lists what a subscriber may request besides the original. When present,
// all four arrays must be present (the JS SDK calls Array.from on each).
type OptionalParameters struct {
	Resolution       []Resolution `json:"resolution"`
	Framerate        []int        `json:"framerate"`
	Bitrate          []Bitrate    `json:"bitrate"`
	KeyFrameInterval []int        `json:"keyFrameInterval"`
}

// Optional is a track's `optional` capabilities: only what the server can really deliver.
type Optional struct {
	Format     []Format            `json:"format,omitempty"`
	Parameters *OptionalParameters `json:"parameters,omitempty"`
}

// TrackInfo is one track of a 1.2 StreamInfo.
type TrackInfo struct {
	ID         string           `json:"id,omitempty"` // <transportId>-<mid>[:<rid>] for WebRTC
	Type       string           `json:"type"`         // "audio" | "video"
	Source     string           `json:"source"`       // mic, camera, screen-cast, raw-file, encoded-file, streaming, mixed
	Format     Format           `json:"format"`
	Parameters *VideoParameters `json:"parameters,omitempty"`
	Optional   *Optional        `json:"optional,omitempty"`
	Status     string           `json:"status"` // "active" | "inactive"
	Mid        string           `json:"mid,omitempty"`
	Rid        string           `json:"rid,omitempty"`
}

// StreamMedia is a 1.2 StreamInfo's media.
type StreamMedia struct {
	Tracks []TrackInfo `json:"tracks"`
}

// ForwardInfo is the `info` of a forward stream.
type ForwardInfo struct {
	Owner       string          `json:"owner"`
	Type        string          `json:"type"` // webrtc, streaming, sip, analytics
	InViews     []string        `json:"inViews"`
	Attributes  json.RawMessage `json:"attributes,omitempty"`
	ActiveInput string          `json:"activeInput,omitempty"`
}

// StreamInfo is a stream as protocol 1.2 clients see it. Info is a ForwardInfo (type forward)
// or a mixed-stream info (type mixed).
type StreamInfo struct {
	ID    string          `json:"id"`
	Type  string          `json:"type"` // "forward" | "mixed"
	Media StreamMedia     `json:"media"`
	Data  *bool           `json:"data,omitempty"`
	Info  json.RawMessage `json:"info"`
}

// RoomInfo is the `room` of a login result.
type RoomInfo struct {
	ID           string            `json:"id"`
	Views        []string          `json:"views"`
	Participants []ParticipantInfo `json:"participants"`
	Streams      []StreamInfo      `json:"streams"`
}

// Client event names (server → client), owt-protocol.md §4.4.
const (
	EventParticipant = "participant"
	EventStream      = "stream"
	EventText        = "text"
	EventProgress    = "progress"
	EventDrop        = "drop"
)

// ParticipantEvent is the `participant` event: action "join" with a ParticipantInfo, or
// "leave" with the participant id.
type ParticipantEvent struct {
	Action string `json:"action"`
	Data   any    `json:"data"`
}

// StreamEvent is the `stream` event: status "add" (Data = StreamInfo), "update" (Data =
// StreamUpdate) or "remove" (no data).
type StreamEvent struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Data   any    `json:"data,omitempty"`
}

// StreamUpdate is the data of a stream "update" event.
type StreamUpdate struct {
	Field string `json:"field"` // audio.status, video.status, video.layout, activeInput, "."
	Value any    `json:"value"`
}

// TextEvent is the `text` event; To is "all" or "me".
type TextEvent struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Message string `json:"message"`
}

// ProgressEvent is the `progress` event for WebRTC transports and sessions.
type ProgressEvent struct {
	ID        string `json:"id"`                  // transport id
	SessionID string `json:"sessionId,omitempty"` // publication/subscription id
	Status    string `json:"status"`              // soac, ready, error
	Data      any    `json:"data,omitempty"`      // soac: Signaling; error: reason string
}

// Signaling is the `signaling` object of a soac request or progress event.
type Signaling struct {
	Type       string          `json:"type"` // offer, answer, candidate, removed-candidates
	SDP        string          `json:"sdp,omitempty"`
	Candidate  json.RawMessage `json:"candidate,omitempty"`  // client: {candidate, sdpMid, sdpMLineIndex}; server: string
	Candidates json.RawMessage `json:"candidates,omitempty"` // removed-candidates
}
