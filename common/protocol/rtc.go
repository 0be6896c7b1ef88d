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
	MethodRTCStats            = "rtc.stats"            // RTCStatsRequest → RTCStats
)

// RTCStatsRequest asks for the congestion-control state of transports (unknown ids are left
// out of the answer).
type RTCStatsRequest struct {
	TransportIDs []string `json:"transportIds"`
}

// RTCStats is the state of the transports asked for.
type RTCStats struct {
	Transports []TransportStats `json:"transports"`
}

// TransportStats is one PeerConnection toward a client.
type TransportStats struct {
	ID string `json:"id"`
	// Estimate is the bandwidth estimate toward the client in bit/s; EstimateSource says
	// where it comes from: "twcc" (send-side, transport-wide-cc feedback), "remb" (the
	// client's own estimate) or "" (neither: no congestion control, Estimate 0).
	Estimate       int                 `json:"estimate"`
	EstimateSource string              `json:"estimateSource"`
	Subscriptions  []SubscriptionStats `json:"subscriptions"`
}

// SubscriptionStats is one subscription on a transport.
type SubscriptionStats struct {
	ID     string                   `json:"id"`
	Tracks []SubscriptionTrackStats `json:"tracks"`
}

// SubscriptionTrackStats is what one subscribed track sends and what congestion control
// does to it.
type SubscriptionTrackStats struct {
	Mid  string `json:"mid"`
	Type string `json:"type"`
	// Source is the track sent (for simulcast, the layer), or the one being switched to.
	Source string `json:"source"`
	// Paused: congestion control stopped the video (its lowest layer does not fit).
	Paused bool `json:"paused"`
	// TemporalLayer is the highest VP8 temporal layer forwarded (0: a quarter of the frame
	// rate, 1: half), absent when every layer is (or the source has none);
	// TemporalDropped counts the frames left out for it.
	TemporalLayer   *int   `json:"temporalLayer,omitempty"`
	TemporalDropped uint64 `json:"temporalDropped,omitempty"`
	// Active: the subscriber did not mute it.
	Active        bool   `json:"active"`
	Packets       uint64 `json:"packets"`
	Bytes         uint64 `json:"bytes"`
	LayerSwitches uint64 `json:"layerSwitches"`
	Pauses        uint64 `json:"pauses"`
	// Padding counts padding-only packets sent as bandwidth probes.
	Padding          uint64 `json:"padding"`
	Retransmitted    uint64 `json:"retransmitted"`
	RetransmitMissed uint64 `json:"retransmitMissed"`
	// KeyframeRequests counts the subscriber's PLI/FIR: pictures it could not decode.
	KeyframeRequests uint64 `json:"keyframeRequests"`
}

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
	// Chosen: the subscriber asked for this very layer (by track id); congestion control
	// may send a lower one, never a higher. Otherwise it picks among all layers.
	Chosen bool `json:"chosen,omitempty"`
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
	RTCEventLayers    = "layers"    // simulcast layers the publisher should pause (Layers)
)

// RTCLayers names the simulcast layers (rids) of a publication's mid that nobody receives:
// the publisher may stop encoding them until they are needed again (dynacast). Paused is
// the whole set: a rid not in it should be sent.
type RTCLayers struct {
	Mid    string   `json:"mid"`
	Paused []string `json:"paused"`
}

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
	Agent       string     `json:"agent"`
	Type        string     `json:"type"`
	TransportID string     `json:"transportId"`
	OperationID string     `json:"operationId,omitempty"`
	SDP         string     `json:"sdp,omitempty"`
	Candidate   string     `json:"candidate,omitempty"`
	Track       *RTCTrack  `json:"track,omitempty"`
	Layers      *RTCLayers `json:"layers,omitempty"`
	Reason      string     `json:"reason,omitempty"`
}
