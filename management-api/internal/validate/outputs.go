package validate

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/store"
)

// maxURLLen bounds URLs taken from bodies.
const maxURLLen = 2048

// Defaults of a streaming-in connection (OWT restReqValidator / conference.js).
const (
	defaultTransport  = "tcp"
	defaultBufferSize = 8192
	maxBufferSize     = 64 << 20
)

// Streaming-in URL schemes: what the streaming agent's demuxer may pull. Local files
// (file://, plain paths) are refused so that REST callers cannot read the agent's disk.
var streamingInSchemes = []string{"rtsp", "rtsps", "rtmp", "rtmps", "http", "https", "srt"}

type streamingInJSON struct {
	Connection *struct {
		URL               *string           `json:"url"`
		TransportProtocol string            `json:"transportProtocol"`
		BufferSize        *int              `json:"bufferSize"`
		Origin            *store.Preference `json:"origin"`
	} `json:"connection"`
	Media *struct {
		Audio json.RawMessage `json:"audio"`
		Video json.RawMessage `json:"video"`
	} `json:"media"`
	Attributes json.RawMessage `json:"attributes"`
}

// StreamingIn validates a POST /rooms/{id}/streaming-ins body.
func StreamingIn(data []byte) (protocol.StreamingIn, error) {
	var in streamingInJSON
	if err := strict(data, &in, ""); err != nil {
		return protocol.StreamingIn{}, err
	}
	if in.Connection == nil {
		return protocol.StreamingIn{}, required("connection")
	}
	if in.Connection.URL == nil {
		return protocol.StreamingIn{}, required("connection.url")
	}
	if _, err := checkURL(*in.Connection.URL, "connection.url", streamingInSchemes); err != nil {
		return protocol.StreamingIn{}, err
	}
	out := protocol.StreamingIn{Connection: protocol.StreamingInConnection{
		URL: *in.Connection.URL, TransportProtocol: defaultTransport, BufferSize: defaultBufferSize,
		Origin: in.Connection.Origin,
	}}
	if tp := in.Connection.TransportProtocol; tp != "" {
		if tp != "tcp" && tp != "udp" {
			return out, invalid("connection.transportProtocol", `"tcp" or "udp"`)
		}
		out.Connection.TransportProtocol = tp
	}
	if bs := in.Connection.BufferSize; bs != nil {
		if *bs <= 0 || *bs > maxBufferSize {
			return out, invalid("connection.bufferSize", "a positive number of bytes")
		}
		out.Connection.BufferSize = *bs
	}
	if in.Media == nil {
		return out, required("media")
	}
	var err error
	if out.Media.Audio, err = trackMode(in.Media.Audio, "media.audio"); err != nil {
		return out, err
	}
	if out.Media.Video, err = trackMode(in.Media.Video, "media.video"); err != nil {
		return out, err
	}
	if out.Media.Audio == protocol.TrackNo && out.Media.Video == protocol.TrackNo {
		return out, invalid("media", "audio or video must not be false")
	}
	if !absent(in.Attributes) {
		out.Attributes = in.Attributes
	}
	return out, nil
}

// trackMode maps OWT's 'auto' | true | false to a protocol track mode.
func trackMode(raw json.RawMessage, field string) (string, error) {
	switch strings.TrimSpace(string(raw)) {
	case `"auto"`:
		return protocol.TrackAuto, nil
	case "true":
		return protocol.TrackYes, nil
	case "false":
		return protocol.TrackNo, nil
	case "", "null":
		return "", required(field)
	}
	return "", invalid(field, `"auto", true or false`)
}

// checkURL parses s and checks its scheme is one of schemes.
func checkURL(s, field string, schemes []string) (*url.URL, error) {
	if s == "" {
		return nil, required(field)
	}
	if len(s) > maxURLLen {
		return nil, invalid(field, "too long")
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return nil, invalid(field, "an absolute URL with a host")
	}
	if !slices.Contains(schemes, strings.ToLower(u.Scheme)) {
		return nil, invalid(field, "scheme must be one of "+strings.Join(schemes, ", "))
	}
	return u, nil
}

type streamingOutJSON struct {
	Protocol   string                      `json:"protocol"`
	URL        *string                     `json:"url"`
	Parameters *protocol.StreamingOutParam `json:"parameters"`
	Media      json.RawMessage             `json:"media"`
}

// schemesFor lists the URL schemes each streaming-out protocol can push to. HLS and DASH
// upload over HTTP; OWT's local-file targets are refused (they write on the agent's disk).
var schemesFor = map[string][]string{
	protocol.ProtocolRTMP: {"rtmp", "rtmps"},
	protocol.ProtocolRTSP: {"rtsp", "rtsps"},
	protocol.ProtocolHLS:  {"http", "https"},
	protocol.ProtocolDASH: {"http", "https"},
}

// StreamingOut validates a POST /rooms/{id}/streaming-outs body, guessing the protocol from
// the URL when it is omitted as OWT does.
func StreamingOut(data []byte) (protocol.StreamingOut, error) {
	var in streamingOutJSON
	if err := strict(data, &in, ""); err != nil {
		return protocol.StreamingOut{}, err
	}
	if in.URL == nil || *in.URL == "" {
		return protocol.StreamingOut{}, required("url")
	}
	proto := in.Protocol
	if proto == "" {
		proto = guessProtocol(*in.URL)
		if proto == "" {
			return protocol.StreamingOut{}, invalid("protocol", "cannot be guessed from url; give rtmp, rtsp, hls or dash")
		}
	}
	schemes, ok := schemesFor[proto]
	if !ok {
		return protocol.StreamingOut{}, invalid("protocol", `"rtmp", "rtsp", "hls" or "dash"`)
	}
	if _, err := checkURL(*in.URL, "url", schemes); err != nil {
		return protocol.StreamingOut{}, err
	}
	if err := outParameters(proto, in.Parameters); err != nil {
		return protocol.StreamingOut{}, err
	}
	media, err := outMedia(in.Media, "media")
	if err != nil {
		return protocol.StreamingOut{}, err
	}
	return protocol.StreamingOut{Protocol: proto, URL: *in.URL, Parameters: in.Parameters, Media: media}, nil
}

// guessProtocol is OWT's URL-based protocol guess.
func guessProtocol(raw string) string {
	lower := strings.ToLower(raw)
	path := lower
	if u, err := url.Parse(lower); err == nil {
		path = u.Path
	}
	switch {
	case strings.HasPrefix(lower, "rtmp://"), strings.HasPrefix(lower, "rtmps://"):
		return protocol.ProtocolRTMP
	case strings.HasPrefix(lower, "rtsp://"), strings.HasPrefix(lower, "rtsps://"):
		return protocol.ProtocolRTSP
	case strings.HasSuffix(path, ".m3u8"):
		return protocol.ProtocolHLS
	case strings.HasSuffix(path, ".mpd"):
		return protocol.ProtocolDASH
	}
	return ""
}

// outParameters checks HLS/DASH parameters; RTMP and RTSP take none.
func outParameters(proto string, p *protocol.StreamingOutParam) error {
	if p == nil {
		return nil
	}
	if p.Method != "" && p.Method != "PUT" && p.Method != "POST" {
		return invalid("parameters.method", `"PUT" or "POST"`)
	}
	hls := p.HLSTime != 0 || p.HLSListSize != 0
	dash := p.DashSegDuration != 0 || p.DashWindowSize != 0
	switch {
	case proto == protocol.ProtocolRTMP || proto == protocol.ProtocolRTSP:
		if hls || dash || p.Method != "" {
			return invalid("parameters", "only hls and dash take parameters")
		}
	case proto == protocol.ProtocolHLS && dash, proto == protocol.ProtocolDASH && hls:
		return invalid("parameters", "parameters do not match the protocol")
	}
	for name, v := range map[string]int{"hlsTime": p.HLSTime, "hlsListSize": p.HLSListSize,
		"dashSegDuration": p.DashSegDuration, "dashWindowSize": p.DashWindowSize} {
		if v < 0 || v > 3600 {
			return invalid("parameters."+name, "a positive integer")
		}
	}
	return nil
}

type recordingJSON struct {
	Container string          `json:"container"`
	Media     json.RawMessage `json:"media"`
}

// Containers of a recording; "auto" picks mp4 or mkv by codec (owt-protocol.md §6.2).
var containers = []string{"auto", "mkv", "mp4", "ts"}

// Recording validates a POST /rooms/{id}/recordings body.
func Recording(data []byte) (protocol.Recording, error) {
	var in recordingJSON
	if err := strict(data, &in, ""); err != nil {
		return protocol.Recording{}, err
	}
	if in.Container == "" {
		in.Container = "auto"
	}
	if !slices.Contains(containers, in.Container) {
		return protocol.Recording{}, invalid("container", `"auto", "mkv", "mp4" or "ts"`)
	}
	media, err := outMedia(in.Media, "media")
	if err != nil {
		return protocol.Recording{}, err
	}
	return protocol.Recording{Container: in.Container, Media: media}, nil
}

type sipCallJSON struct {
	PeerURI *string `json:"peerURI"`
	MediaIn *struct {
		Audio *bool `json:"audio"`
		Video *bool `json:"video"`
	} `json:"mediaIn"`
	MediaOut json.RawMessage `json:"mediaOut"`
}

// SipCall validates a POST /rooms/{id}/sipcalls body: audio is mandatory both ways, and the
// call's video in and out must agree.
func SipCall(data []byte) (protocol.SipCall, error) {
	var in sipCallJSON
	if err := strict(data, &in, ""); err != nil {
		return protocol.SipCall{}, err
	}
	if in.PeerURI == nil || *in.PeerURI == "" {
		return protocol.SipCall{}, required("peerURI")
	}
	if len(*in.PeerURI) > maxURLLen {
		return protocol.SipCall{}, invalid("peerURI", "too long")
	}
	if in.MediaIn == nil || in.MediaIn.Audio == nil || in.MediaIn.Video == nil {
		return protocol.SipCall{}, required("mediaIn.audio and mediaIn.video")
	}
	if !*in.MediaIn.Audio {
		return protocol.SipCall{}, invalid("mediaIn.audio", "must be true for SIP calls")
	}
	out, err := outMedia(in.MediaOut, "mediaOut")
	if err != nil {
		return protocol.SipCall{}, err
	}
	if out.Audio == nil {
		return protocol.SipCall{}, required("mediaOut.audio")
	}
	if (out.Video != nil) != *in.MediaIn.Video {
		return protocol.SipCall{}, invalid("mediaOut.video", "must be consistent with mediaIn.video")
	}
	return protocol.SipCall{PeerURI: *in.PeerURI,
		MediaIn: protocol.SipMediaIn{Audio: true, Video: *in.MediaIn.Video}, MediaOut: out}, nil
}

type analyticsJSON struct {
	Algorithm *string         `json:"algorithm"`
	Media     json.RawMessage `json:"media"`
}

// Analytics validates a POST /rooms/{id}/analytics body; video is required.
func Analytics(data []byte) (protocol.Analytics, error) {
	var in analyticsJSON
	if err := strict(data, &in, ""); err != nil {
		return protocol.Analytics{}, err
	}
	if in.Algorithm == nil || *in.Algorithm == "" {
		return protocol.Analytics{}, required("algorithm")
	}
	if len(*in.Algorithm) > maxIDLen {
		return protocol.Analytics{}, invalid("algorithm", "too long")
	}
	media, err := outMedia(in.Media, "media")
	if err != nil {
		return protocol.Analytics{}, err
	}
	if media.Video == nil {
		return protocol.Analytics{}, required("media.video")
	}
	return protocol.Analytics{Algorithm: *in.Algorithm, Media: media}, nil
}
