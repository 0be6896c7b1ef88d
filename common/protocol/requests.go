package protocol

import (
	"encoding/json"

	"github.com/conclave-rtc/conclave/common/store"
)

// StreamingIn is a validated POST /rooms/{id}/streaming-ins body.
type StreamingIn struct {
	Connection StreamingInConnection `json:"connection"`
	Media      StreamingInMedia      `json:"media"`
	Attributes json.RawMessage       `json:"attributes,omitempty"`
}

// StreamingInConnection tells the streaming agent where to pull from.
type StreamingInConnection struct {
	URL               string            `json:"url"`
	TransportProtocol string            `json:"transportProtocol"` // "tcp" (default) or "udp"
	BufferSize        int               `json:"bufferSize"`        // bytes, for udp; default 8192
	Origin            *store.Preference `json:"origin,omitempty"`
}

// StreamingInMedia says which kinds to take: TrackAuto, TrackYes or TrackNo.
type StreamingInMedia struct {
	Audio string `json:"audio"`
	Video string `json:"video"`
}

// Streaming-out protocols.
const (
	ProtocolRTMP = "rtmp"
	ProtocolRTSP = "rtsp"
	ProtocolHLS  = "hls"
	ProtocolDASH = "dash"
)

// StreamingOut is a validated POST /rooms/{id}/streaming-outs body; Protocol is always set
// (guessed from the URL when the client omitted it).
type StreamingOut struct {
	Protocol   string             `json:"protocol"`
	URL        string             `json:"url"`
	Parameters *StreamingOutParam `json:"parameters,omitempty"`
	Media      OutMedia           `json:"media"`
}

// StreamingOutParam holds the HLS or DASH upload parameters (OWT HlsParameters /
// DashParameters).
type StreamingOutParam struct {
	Method          string `json:"method,omitempty"` // "PUT" or "POST"
	HLSTime         int    `json:"hlsTime,omitempty"`
	HLSListSize     int    `json:"hlsListSize,omitempty"`
	DashSegDuration int    `json:"dashSegDuration,omitempty"`
	DashWindowSize  int    `json:"dashWindowSize,omitempty"`
}

// Recording is a validated POST /rooms/{id}/recordings body; Container is "auto" when the
// client omitted it.
type Recording struct {
	Container string   `json:"container"`
	Media     OutMedia `json:"media"`
}

// SipCall is a validated POST /rooms/{id}/sipcalls body (a dial-out).
type SipCall struct {
	PeerURI  string     `json:"peerURI"`
	MediaIn  SipMediaIn `json:"mediaIn"`
	MediaOut OutMedia   `json:"mediaOut"`
}

// SipMediaIn says what the call sends into the room (audio is mandatory).
type SipMediaIn struct {
	Audio bool `json:"audio"`
	Video bool `json:"video"`
}

// Analytics is a validated POST /rooms/{id}/analytics body.
type Analytics struct {
	Algorithm string   `json:"algorithm"`
	Media     OutMedia `json:"media"`
}
