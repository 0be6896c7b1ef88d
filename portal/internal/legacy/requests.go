// Package legacy converts between the protocol 1.1/1.0 shapes of OWT's signaling (native SDKs,
// JS SDK 4.x) and the 1.2 shapes the conference agent speaks (owt-protocol.md §4.7). Every
// function is pure.
package legacy

import (
	"encoding/json"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/portal/internal/check"
)

// Client protocol versions.
const (
	V12 = "1.2"
	V11 = "1.1"
	V10 = "1.0"
)

// IsLegacy reports whether version uses the 1.1/1.0 shapes.
func IsLegacy(version string) bool { return version == V11 || version == V10 }

// pubSources are the publication sources OWT accepts.
var pubSources = []string{"mic", "camera", "screen-cast", "raw-file", "encoded-file"}

// PubSources returns the track sources a publication may declare.
func PubSources() []string { return append([]string(nil), pubSources...) }

// Publication is a converted 1.1 publish request.
type Publication struct {
	Tracks     []protocol.PubTrack
	Attributes json.RawMessage
}

// mids hands out OWT's synthetic sequential mids: "0" for the first present kind (audio
// before video), then "1".
type mids int

func (m *mids) next() string {
	s := string(rune('0' + int(*m)))
	*m++
	return s
}

// Publish converts a 1.1/1.0 publish request `{media: {audio: {source}|false, video:
// {source, parameters?}|false}, attributes?}` into tracks. Unknown top-level keys (the 1.0
// `type`) are ignored, as the native SDKs send slightly different envelopes.
func Publish(raw json.RawMessage) (Publication, error) {
	req, err := check.Object(raw, check.Root)
	if err != nil {
		return Publication{}, err
	}
	if err := req.Require("media"); err != nil {
		return Publication{}, err
	}
	media, err := req.Sub("media")
	if err != nil {
		return Publication{}, err
	}
	if err := media.Require("audio", "video"); err != nil {
		return Publication{}, err
	}
	var out Publication
	var m mids
	for _, kind := range []string{"audio", "video"} {
		if check.IsFalse(media.Raw(kind)) {
			continue
		}
		t, err := media.Sub(kind)
		if err != nil {
			return Publication{}, err
		}
		src, ok, err := t.Enum("source", pubSources...)
		if err != nil {
			return Publication{}, err
		}
		if !ok {
			return Publication{}, check.Required(t.Path, "source")
		}
		out.Tracks = append(out.Tracks, protocol.PubTrack{Type: kind, Mid: m.next(), Source: src})
	}
	if req.Has("attributes") && !check.IsNull(req.Raw("attributes")) {
		if _, err := req.Sub("attributes"); err != nil {
			return Publication{}, err
		}
		out.Attributes = req.Raw("attributes")
	}
	return out, nil
}

// RidResolver maps a stream id and a simulcast rid to the id of the stream's track with
// that rid (false when unknown).
type RidResolver func(streamID, rid string) (string, bool)

// Subscribe converts a 1.1/1.0 subscribe request `{media: {audio: {from, format?}|false,
// video: {from, format?, parameters?, simulcastRid?}|false}}` into tracks. A simulcastRid is
// mapped to the rid's track id through resolve (nil or unknown: the stream id is kept).
func Subscribe(raw json.RawMessage, resolve RidResolver) ([]protocol.SubTrack, error) {
	req, err := check.Object(raw, check.Root)
	if err != nil {
		return nil, err
	}
	if err := req.Require("media"); err != nil {
		return nil, err
	}
	media, err := req.Sub("media")
	if err != nil {
		return nil, err
	}
	if err := media.Require("audio", "video"); err != nil {
		return nil, err
	}
	var tracks []protocol.SubTrack
	var m mids
	for _, kind := range []string{"audio", "video"} {
		if check.IsFalse(media.Raw(kind)) {
			continue
		}
		t, err := subTrack(media, kind, resolve)
		if err != nil {
			return nil, err
		}
		t.Mid = m.next()
		tracks = append(tracks, t)
	}
	return tracks, nil
}

// subTrack converts one kind of a legacy subscription.
func subTrack(media check.Obj, kind string, resolve RidResolver) (protocol.SubTrack, error) {
	o, err := media.Sub(kind)
	if err != nil {
		return protocol.SubTrack{}, err
	}
	from, ok, err := o.String("from")
	if err != nil {
		return protocol.SubTrack{}, err
	}
	if !ok {
		return protocol.SubTrack{}, check.Required(o.Path, "from")
	}
	t := protocol.SubTrack{Type: kind, From: from}
	if o.Has("format") {
		t.Format = new(protocol.Format)
		if err := o.Decode("format", "object", t.Format); err != nil {
			return protocol.SubTrack{}, err
		}
	}
	if kind != "video" {
		return t, nil
	}
	if o.Has("parameters") {
		t.Parameters = new(protocol.VideoParameters)
		if err := o.Decode("parameters", "object", t.Parameters); err != nil {
			return protocol.SubTrack{}, err
		}
	}
	rid, ok, err := o.String("simulcastRid")
	if err != nil {
		return protocol.SubTrack{}, err
	}
	if ok && rid != "" && resolve != nil {
		if id, found := resolve(from, rid); found {
			t.From = id
		}
	}
	return t, nil
}
