// Package protocol defines the RPCs the management API sends to a room's conference agent.
//
// The management API finds the agent that owns a live room through the store lease
// "room.<roomId>" and calls it on the bus with one of the Method* names below. Requests are the
// structs of this package; replies are the OWT REST JSON of the resource (participant detail,
// v1.0 StreamInfo, streaming-out, recording, sip call or analytics object, see owt-protocol.md
// §5.2), carried as json.RawMessage so the management API can hand them to the REST client
// untouched. Failures are *errs.Error values, which keep their code across the bus.
package protocol

import "encoding/json"

// Method names of the conference agent's RPC endpoint (whose name is the agent's worker id).
const (
	// MethodRoomDestroy ends a live room (REST DELETE /rooms/{id}). Request: RoomRequest.
	MethodRoomDestroy = "room.destroy"

	// MethodParticipantsList lists the room's participants. Request: RoomRequest; reply:
	// []json.RawMessage of participant details.
	MethodParticipantsList = "participants.list"
	// MethodParticipantsGet returns one participant. Request: ItemRequest.
	MethodParticipantsGet = "participants.get"
	// MethodParticipantsUpdate applies permission updates. Request: ItemUpdate; reply: detail.
	MethodParticipantsUpdate = "participants.update"
	// MethodParticipantsDrop disconnects a participant. Request: ItemRequest.
	MethodParticipantsDrop = "participants.drop"

	// MethodStreamsList lists the room's streams (v1.0 StreamInfo). Request: RoomRequest.
	MethodStreamsList = "streams.list"
	// MethodStreamsGet returns one stream. Request: ItemRequest.
	MethodStreamsGet = "streams.get"
	// MethodStreamsUpdate applies stream updates (mix, status, layout). Request: ItemUpdate.
	MethodStreamsUpdate = "streams.update"
	// MethodStreamsDelete removes a stream. Request: ItemRequest.
	MethodStreamsDelete = "streams.delete"

	// MethodStreamingInsAdd starts pulling an external stream. Request: AddRequest[StreamingIn];
	// reply: StreamInfo. It is also sent to a freshly scheduled agent for a room that is not
	// live yet, which must then take the room's lease.
	MethodStreamingInsAdd = "streamingIns.add"
	// MethodStreamingInsDelete stops a streaming-in. Request: ItemRequest.
	MethodStreamingInsDelete = "streamingIns.delete"

	// MethodStreamingOutsList lists streaming-outs. Request: RoomRequest.
	MethodStreamingOutsList = "streamingOuts.list"
	// MethodStreamingOutsAdd starts a streaming-out. Request: AddRequest[StreamingOut].
	MethodStreamingOutsAdd = "streamingOuts.add"
	// MethodStreamingOutsUpdate updates a streaming-out's subscription. Request: ItemUpdate.
	MethodStreamingOutsUpdate = "streamingOuts.update"
	// MethodStreamingOutsDelete stops a streaming-out. Request: ItemRequest.
	MethodStreamingOutsDelete = "streamingOuts.delete"

	// MethodRecordingsList lists recordings. Request: RoomRequest.
	MethodRecordingsList = "recordings.list"
	// MethodRecordingsAdd starts a recording. Request: AddRequest[Recording].
	MethodRecordingsAdd = "recordings.add"
	// MethodRecordingsUpdate updates a recording's subscription. Request: ItemUpdate.
	MethodRecordingsUpdate = "recordings.update"
	// MethodRecordingsDelete stops a recording. Request: ItemRequest.
	MethodRecordingsDelete = "recordings.delete"

	// MethodSipCallsList lists SIP calls. Request: RoomRequest.
	MethodSipCallsList = "sipCalls.list"
	// MethodSipCallsAdd dials out. Request: AddRequest[SipCall].
	MethodSipCallsAdd = "sipCalls.add"
	// MethodSipCallsUpdate updates a call's output. Request: ItemUpdate (paths /output/media/…).
	MethodSipCallsUpdate = "sipCalls.update"
	// MethodSipCallsDelete hangs up. Request: ItemRequest.
	MethodSipCallsDelete = "sipCalls.delete"

	// MethodAnalyticsList lists analytics. Request: RoomRequest.
	MethodAnalyticsList = "analytics.list"
	// MethodAnalyticsAdd starts an analytics task. Request: AddRequest[Analytics].
	MethodAnalyticsAdd = "analytics.add"
	// MethodAnalyticsDelete stops an analytics task. Request: ItemRequest.
	MethodAnalyticsDelete = "analytics.delete"
)

// LeaseName returns the store lease name through which a conference agent owns a live room.
func LeaseName(roomID string) string { return "room." + roomID }

// RoomRequest addresses a whole room.
type RoomRequest struct {
	RoomID string `json:"roomId"`
}

// ItemRequest addresses one participant, stream or server-side output of a room.
type ItemRequest struct {
	RoomID string `json:"roomId"`
	ID     string `json:"id"`
}

// PatchOp is one JSON-patch-like operation of an OWT PATCH body. The management API has
// validated op, path and value against the resource's allowed updates.
type PatchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// ItemUpdate applies Ops, in order, to one item of a room.
type ItemUpdate struct {
	RoomID string    `json:"roomId"`
	ID     string    `json:"id"`
	Ops    []PatchOp `json:"ops"`
}

// AddRequest creates an item described by Spec in a room.
type AddRequest[T any] struct {
	RoomID string `json:"roomId"`
	Spec   T      `json:"spec"`
}
