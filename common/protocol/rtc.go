package protocol

// Conference agent → webrtc agent RPCs, sent to the webrtc agent's endpoint (its worker id).
// One transport is one PeerConnection; protocol 1.2 clients put every operation on one
// transport and renegotiate, 1.1 clients use a transport per operation.
const (
	MethodRTCPublish          = "rtc.publish"          // RTCPublish
	MethodRTCSubscribe        = "rtc.subscribe"        // RTCSubscribe
	MethodRTCSignaling        = "rtc.signaling"        // RTCSignaling
	MethodRTCTerminate        = "rtc.terminate"        // RTCOperation: end a publication/subscription
	MethodRTCControl          = "rtc.control"          // RTCControl: mute, unmute, layer choice
	MethodRTCDestroyTransport = "rtc.destroyTransport" // RTCOperation (OperationID empty)
	MethodRTCExport           = "rtc.export"           // RTCExport → RTCExportResult (media link)
)

// RTCTopic is the topic a conference agent subscribes to for events of the webrtc agents it
// controls.
func RTCTopic(conferenceID string) string { return "conference." + conferenceID + ".rtc" }

// RTCPubTrack is a track the client will send.
type RTCPubTrack struct {
	Mid     string   `json:"mid"`
	Type    string   `json:"type"`
	Source  string   `json:"source"`
	Formats []Format `json:"formats"` // acceptable formats in preference order (room mediaIn)
}

// RTCPublish registers a publication on a transport (creating the transport if new).
type RTCPublish struct {
	RoomID      string        `json:"roomId"`
	Controller  string        `json:"controller"` // conference agent id, for events
	Owner       string        `json:"owner"`      // participant id
	TransportID string        `json:"transportId"`
	OperationID string        `json:"operationId"` // the stream id
	Tracks      []RTCPubTrack `json:"tracks"`
}

// TrackRef locates a published track: the agent holding it and its track id there.
type TrackRef struct {
	Agent   string `json:"agent"`
	TrackID string `json:"trackId"` // <transportId>-<mid>[:<rid>]
}

// RTCSubTrack is a track the client will receive.
type RTCSubTrack struct {
	Mid    string   `json:"mid"`
	Type   string   `json:"type"`
	Source TrackRef `json:"source"`
	Format Format   `json:"format"`
	// Layers are the source's simulcast track ids (rid order, highest first) when the source
	// is simulcast; Source is the initially chosen layer.
	Layers []TrackRef `json:"layers,omitempty"`
}

// RTCSubscribe registers a subscription on a transport (creating the transport if new).
type RTCSubscribe struct {
	RoomID      string        `json:"roomId"`
	Controller  string        `json:"controller"`
	Owner       string        `json:"owner"`
	TransportID string        `json:"transportId"`
	OperationID string        `json:"operationId"` // the subscription id
	Tracks      []RTCSubTrack `json:"tracks"`
}

// RTCSignaling hands a client's soac message to the transport.
type RTCSignaling struct {
	TransportID string    `json:"transportId"`
	Signaling   Signaling `json:"signaling"`
}

// RTCOperation names a transport and optionally one operation on it.
type RTCOperation struct {
	TransportID string `json:"transportId"`
	OperationID string `json:"operationId,omitempty"`
}

// RTCControl changes how an operation's tracks flow.
type RTCControl struct {
	TransportID string `json:"transportId"`
	OperationID string `json:"operationId"`
	Kind        string `json:"kind"`             // "audio" | "video" | "av"
	Active      *bool  `json:"active,omitempty"` // mute (false) / unmute (true)
	// Layer re-points a video subscription to another source track (simulcast layer or
	// another stream), keeping the client's track.
	Layer *TrackRef `json:"layer,omitempty"`
}

// RTCExport asks the agent holding a track to export it over a media link.
type RTCExport struct {
	TrackID string `json:"trackId"`
}

// RTCExportResult tells where to connect and with which ticket.
type RTCExportResult struct {
	Address string `json:"address"` // host:port of the media-link listener
	Ticket  string `json:"ticket"`
}

// RTC event types (webrtc agent → conference agent, on RTCTopic).
const (
	RTCEventAnswer    = "answer"    // SDP answer for the transport (Data: SDP)
	RTCEventCandidate = "candidate" // a local candidate (Data: "a=candidate:…")
	RTCEventReady     = "ready"     // transport ICE+DTLS up
	RTCEventFailed    = "failed"    // transport failed/closed (Reason)
	RTCEventTrack     = "track"     // a publication track arrived (Track)
	RTCEventComplete  = "complete"  // every track of OperationID is flowing/set up
	RTCEventError     = "error"     // an operation failed (Reason)
)

// RTCTrack describes a published track that arrived on a transport.
type RTCTrack struct {
	ID         string           `json:"id"` // <transportId>-<mid>[:<rid>]
	Mid        string           `json:"mid"`
	Rid        string           `json:"rid,omitempty"`
	Type       string           `json:"type"`
	Format     Format           `json:"format"`
	Parameters *VideoParameters `json:"parameters,omitempty"`
}

// RTCEvent is one event from a webrtc agent about a transport or operation.
type RTCEvent struct {
	Agent       string    `json:"agent"`
	Type        string    `json:"type"`
	TransportID string    `json:"transportId"`
	OperationID string    `json:"operationId,omitempty"`
	SDP         string    `json:"sdp,omitempty"`
	Candidate   string    `json:"candidate,omitempty"`
	Track       *RTCTrack `json:"track,omitempty"`
	Reason      string    `json:"reason,omitempty"`
}
