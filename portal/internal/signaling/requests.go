package signaling

import (
	"encoding/json"
	"regexp"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/portal/internal/check"
	"github.com/conclave-rtc/conclave/portal/internal/legacy"
)

// idPattern is OWT's isValidIdString.
var idPattern = regexp.MustCompile(`^[0-9a-zA-Z\-]+$`)

// reconnectableSDKs are the SDK types for which OWT enables reconnection.
var reconnectableSDKs = map[string]bool{"Objective-C": true, "C++": true, "Android": true, "JavaScript": true}

// Login is a decoded `login` request.
type Login struct {
	Token        string
	Protocol     string
	SDKType      string
	SDKVersion   string
	Reconnection bool // enabled by the SDK type (the request's reconnection option is ignored, as OWT)
}

// DecodeLogin validates a `login` request in OWT's order: protocol, user agent, version.
func DecodeLogin(raw json.RawMessage) (Login, error) {
	req, err := check.Object(raw, check.Root)
	if err != nil || !req.Has("protocol") || check.IsNull(req.Raw("protocol")) {
		return Login{}, Failure(MsgUnsupportedProtocol)
	}
	proto, _, err := req.String("protocol")
	if err != nil || (proto != legacy.V12 && proto != legacy.V11 && proto != legacy.V10) {
		return Login{}, Failure(MsgUnknownProtocol)
	}
	l := Login{Protocol: proto}
	if l.SDKType, l.SDKVersion, err = userAgent(req); err != nil {
		return Login{}, err
	}
	if l.SDKVersion == "3.5" {
		return Login{}, Failure(MsgDeprecated)
	}
	l.Reconnection = reconnectableSDKs[l.SDKType]
	tok, ok, err := req.String("token")
	if err != nil || !ok || tok == "" {
		return Login{}, Failure(MsgInvalidToken)
	}
	l.Token = tok
	return l, nil
}

// userAgent returns userAgent.sdk.{type, version}, both non-empty strings.
func userAgent(req check.Obj) (typ, version string, err error) {
	bad := Failure(MsgUserAgent)
	ua, err := req.Sub("userAgent")
	if err != nil {
		return "", "", bad
	}
	sdk, err := ua.Sub("sdk")
	if err != nil {
		return "", "", bad
	}
	typ, _, err1 := sdk.String("type")
	version, _, err2 := sdk.String("version")
	if err1 != nil || err2 != nil || typ == "" || version == "" {
		return "", "", bad
	}
	return typ, version, nil
}

// Transport is the optional `transport` of a 1.2 publish/subscribe.
type Transport struct {
	Type string
	ID   string
}

// decodeTransport validates `transport: {type: webrtc|quic, id?}`.
func decodeTransport(req check.Obj) (Transport, error) {
	if !req.Has("transport") {
		return Transport{Type: "webrtc"}, nil
	}
	o, err := req.Sub("transport")
	if err != nil {
		return Transport{}, err
	}
	if err := o.Require("type"); err != nil {
		return Transport{}, err
	}
	typ, _, err := o.Enum("type", "webrtc", "quic")
	if err != nil {
		return Transport{}, err
	}
	id, _, err := o.String("id")
	if err != nil {
		return Transport{}, err
	}
	if typ == "quic" {
		return Transport{}, Failure(MsgQUIC)
	}
	return Transport{Type: typ, ID: id}, nil
}

// Publish is a decoded 1.2 `publish` request.
type Publish struct {
	Tracks     []protocol.PubTrack
	Attributes json.RawMessage
	Data       bool
	Transport  Transport
}

// DecodePublish validates a 1.2 PublicationRequest (requestFormatV1-2.js).
func DecodePublish(raw json.RawMessage) (Publish, error) {
	req, err := check.Object(raw, check.Root)
	if err != nil {
		return Publish{}, err
	}
	if err := req.Require("media"); err != nil {
		return Publish{}, err
	}
	if err := req.Only("media", "attributes", "data", "transport"); err != nil {
		return Publish{}, err
	}
	var p Publish
	items, err := mediaTracks(req)
	if err != nil {
		return Publish{}, err
	}
	for i, item := range items {
		t, err := pubTrack(item, check.Item(req.At("media")+".tracks", i))
		if err != nil {
			return Publish{}, err
		}
		p.Tracks = append(p.Tracks, t)
	}
	if req.Has("attributes") {
		if _, err := req.Sub("attributes"); err != nil {
			return Publish{}, err
		}
		p.Attributes = req.Raw("attributes")
	}
	if p.Data, err = req.Bool("data"); err != nil {
		return Publish{}, err
	}
	if p.Transport, err = decodeTransport(req); err != nil {
		return Publish{}, err
	}
	return p, nil
}

// mediaTracks returns the items of `media.tracks`; `media: null` has none.
func mediaTracks(req check.Obj) ([]json.RawMessage, error) {
	if check.IsNull(req.Raw("media")) {
		return nil, nil
	}
	media, err := req.Sub("media")
	if err != nil {
		return nil, err
	}
	if err := media.Require("tracks"); err != nil {
		return nil, err
	}
	if err := media.Only("tracks"); err != nil {
		return nil, err
	}
	return media.Array("tracks")
}

// pubTrack validates `{type, mid, source}`.
func pubTrack(raw json.RawMessage, path string) (protocol.PubTrack, error) {
	o, err := check.Object(raw, path)
	if err != nil {
		return protocol.PubTrack{}, err
	}
	if err := o.Require("type", "mid", "source"); err != nil {
		return protocol.PubTrack{}, err
	}
	var t protocol.PubTrack
	if t.Type, _, err = o.Enum("type", "audio", "video"); err != nil {
		return protocol.PubTrack{}, err
	}
	if t.Mid, _, err = o.String("mid"); err != nil {
		return protocol.PubTrack{}, err
	}
	if t.Source, _, err = o.Enum("source", legacy.PubSources()...); err != nil {
		return protocol.PubTrack{}, err
	}
	return t, nil
}

// Subscribe is a decoded 1.2 `subscribe` request.
type Subscribe struct {
	Tracks    []protocol.SubTrack
	Transport Transport
}

// DecodeSubscribe validates a 1.2 SubscriptionRequest (requestFormatV1-2.js).
func DecodeSubscribe(raw json.RawMessage) (Subscribe, error) {
	req, err := check.Object(raw, check.Root)
	if err != nil {
		return Subscribe{}, err
	}
	if err := req.Require("media"); err != nil {
		return Subscribe{}, err
	}
	if err := req.Only("media", "transport", "data"); err != nil {
		return Subscribe{}, err
	}
	items, err := mediaTracks(req)
	if err != nil {
		return Subscribe{}, err
	}
	var s Subscribe
	for i, item := range items {
		t, err := subTrack(item, check.Item(req.At("media")+".tracks", i))
		if err != nil {
			return Subscribe{}, err
		}
		s.Tracks = append(s.Tracks, t)
	}
	if req.Has("data") && !check.IsNull(req.Raw("data")) {
		if _, err := req.Sub("data"); err != nil {
			return Subscribe{}, err
		}
	}
	if s.Transport, err = decodeTransport(req); err != nil {
		return Subscribe{}, err
	}
	return s, nil
}

// subTrack validates `{type, mid, from, format?, parameters?}`.
func subTrack(raw json.RawMessage, path string) (protocol.SubTrack, error) {
	o, err := check.Object(raw, path)
	if err != nil {
		return protocol.SubTrack{}, err
	}
	if err := o.Require("type", "mid", "from"); err != nil {
		return protocol.SubTrack{}, err
	}
	var t protocol.SubTrack
	if t.Type, _, err = o.Enum("type", "audio", "video"); err != nil {
		return protocol.SubTrack{}, err
	}
	if t.Mid, _, err = o.String("mid"); err != nil {
		return protocol.SubTrack{}, err
	}
	if t.From, _, err = o.String("from"); err != nil {
		return protocol.SubTrack{}, err
	}
	if o.Has("format") {
		t.Format = new(protocol.Format)
		if err := o.Decode("format", "object", t.Format); err != nil {
			return protocol.SubTrack{}, err
		}
	}
	if o.Has("parameters") {
		t.Parameters = new(protocol.VideoParameters)
		if err := o.Decode("parameters", "object", t.Parameters); err != nil {
			return protocol.SubTrack{}, err
		}
	}
	return t, nil
}

// Control is a decoded stream-control or subscription-control request.
type Control struct {
	ID        string
	Operation string
	Data      json.RawMessage
}

// Control operations (requestFormatV1-0.js; querybwe is rejected as by OWT's validator).
var (
	streamOps       = []string{"mix", "unmix", "set-region", "get-region", "pause", "play"}
	subscriptionOps = []string{"update", "pause", "play"}
)

// DecodeStreamControl validates `{id, operation, data}` of stream-control.
func DecodeStreamControl(raw json.RawMessage) (Control, error) {
	return decodeControl(raw, MsgStreamID, streamOps)
}

// DecodeSubscriptionControl validates `{id, operation, data}` of subscription-control.
func DecodeSubscriptionControl(raw json.RawMessage) (Control, error) {
	return decodeControl(raw, MsgSubscriptionID, subscriptionOps)
}

// decodeControl checks the id first (OWT's isValidIdString), then the schema.
func decodeControl(raw json.RawMessage, badID string, ops []string) (Control, error) {
	id, err := DecodeID(raw, badID)
	if err != nil {
		return Control{}, err
	}
	req, _ := check.Object(raw, check.Root) // DecodeID checked it is an object
	if err := req.Require("id", "operation", "data"); err != nil {
		return Control{}, err
	}
	op, _, err := req.Enum("operation", ops...)
	if err != nil {
		return Control{}, err
	}
	if op == "pause" || op == "play" {
		if _, _, err := req.Enum("data", "audio", "video", "av"); err != nil {
			return Control{}, err
		}
	}
	return Control{ID: id, Operation: op, Data: req.Raw("data")}, nil
}

// DecodeID returns the `id` of `{id}` when it is a valid id string, else Failure(badID).
func DecodeID(raw json.RawMessage, badID string) (string, error) {
	req, err := check.Object(raw, check.Root)
	if err != nil {
		return "", Failure(badID)
	}
	id, _, err := req.String("id")
	if err != nil || !idPattern.MatchString(id) {
		return "", Failure(badID)
	}
	return id, nil
}

// Soac is a decoded `soac` request.
type Soac struct {
	TransportID string
	Signaling   protocol.Signaling
}

// signalingTypes are the soac message types OWT accepts.
var signalingTypes = []string{"offer", "answer", "candidate", "removed-candidates"}

// DecodeSoac validates `{id, signaling: {type, sdp?|candidate?|candidates?}}`.
func DecodeSoac(raw json.RawMessage) (Soac, error) {
	req, err := check.Object(raw, check.Root)
	if err != nil {
		return Soac{}, Failure(MsgSoacID)
	}
	id, _, err := req.String("id")
	if err != nil || id == "" {
		return Soac{}, Failure(MsgSoacID)
	}
	sig, err := req.Sub("signaling")
	if err != nil {
		return Soac{}, Failure(MsgSignalingObject)
	}
	typ, ok, err := sig.Enum("type", signalingTypes...)
	if err != nil || !ok {
		return Soac{}, Failure(MsgSignalingType)
	}
	out := Soac{TransportID: id, Signaling: protocol.Signaling{Type: typ}}
	sdp, _, err := sig.String("sdp")
	if err != nil {
		return Soac{}, Failure(MsgSignalingObject)
	}
	out.Signaling.SDP = sdp
	if !check.IsNull(sig.Raw("candidate")) {
		out.Signaling.Candidate = sig.Raw("candidate")
	}
	if !check.IsNull(sig.Raw("candidates")) {
		out.Signaling.Candidates = sig.Raw("candidates")
	}
	return out, nil
}

// Text is a decoded `text` request.
type Text struct {
	To      string
	Message string
}

// DecodeText validates `{to, message}`.
func DecodeText(raw json.RawMessage) (Text, error) {
	req, err := check.Object(raw, check.Root)
	if err != nil {
		return Text{}, Failure(MsgReceiver)
	}
	to, _, err := req.String("to")
	if err != nil || to == "" {
		return Text{}, Failure(MsgReceiver)
	}
	msg, _, err := req.String("message")
	if err != nil {
		return Text{}, Failure(MsgMessage)
	}
	return Text{To: to, Message: msg}, nil
}
