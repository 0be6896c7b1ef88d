package legacy

import (
	"encoding/json"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// EventSessionProgress is the event 1.1/1.0 clients get instead of a session-level
// `progress ready` (they rely on the transport-level one, whose id is their session id).
const EventSessionProgress = "session-progress"

// StreamInfo is a stream as protocol 1.1/1.0 clients see it.
type StreamInfo struct {
	ID    string          `json:"id"`
	Type  string          `json:"type"`
	Media Media           `json:"media"`
	Data  *bool           `json:"data,omitempty"`
	Info  json.RawMessage `json:"info"`
}

// Media is the per-kind media of a legacy StreamInfo; an absent kind is omitted.
type Media struct {
	Audio *Audio `json:"audio,omitempty"`
	Video *Video `json:"video,omitempty"`
}

// Audio is the audio of a legacy StreamInfo.
type Audio struct {
	Status   string             `json:"status"`
	Source   string             `json:"source"`
	Format   protocol.Format    `json:"format"`
	Optional *protocol.Optional `json:"optional,omitempty"`
}

// Video is the video of a legacy StreamInfo: 1.1 lists Original (one entry per simulcast
// rid); 1.0 flattens the first entry into Format/Parameters.
type Video struct {
	Status     string                    `json:"status"`
	Source     string                    `json:"source"`
	Original   []Original                `json:"original,omitempty"`
	Format     *protocol.Format          `json:"format,omitempty"`
	Parameters *protocol.VideoParameters `json:"parameters,omitempty"`
	Optional   *protocol.Optional        `json:"optional,omitempty"`
}

// Original is one encoding of a legacy video.
type Original struct {
	Format       protocol.Format           `json:"format"`
	Parameters   *protocol.VideoParameters `json:"parameters,omitempty"`
	SimulcastRid string                    `json:"simulcastRid,omitempty"`
}

// Stream converts a 1.2 StreamInfo for a client of version; 1.2 streams are returned as is.
func Stream(version string, s protocol.StreamInfo) any {
	if !IsLegacy(version) {
		return s
	}
	out := StreamInfo{ID: s.ID, Type: s.Type, Data: s.Data, Info: s.Info}
	for _, t := range s.Media.Tracks {
		switch t.Type {
		case "audio":
			if out.Media.Audio == nil {
				out.Media.Audio = &Audio{Status: t.Status, Source: t.Source, Format: t.Format, Optional: t.Optional}
			}
		case "video":
			if out.Media.Video == nil {
				out.Media.Video = &Video{Status: t.Status, Source: t.Source, Optional: t.Optional}
			}
			out.Media.Video.Original = append(out.Media.Video.Original,
				Original{Format: t.Format, Parameters: t.Parameters, SimulcastRid: t.Rid})
		}
	}
	if version == V10 && out.Media.Video != nil && len(out.Media.Video.Original) > 0 {
		first := out.Media.Video.Original[0]
		out.Media.Video.Format = &first.Format
		out.Media.Video.Parameters = first.Parameters
		out.Media.Video.Original = nil
	}
	if out.Info == nil {
		out.Info = json.RawMessage("null")
	}
	return out
}

// Streams converts a list of streams; the result is never nil.
func Streams(version string, in []protocol.StreamInfo) []any {
	out := make([]any, 0, len(in))
	for _, s := range in {
		out = append(out, Stream(version, s))
	}
	return out
}

// streamEvent is a `stream` event with its data left raw.
type streamEvent struct {
	ID     string          `json:"id"`
	Status string          `json:"status"`
	Data   json.RawMessage `json:"data,omitempty"`
}

// streamUpdate is the data of a `stream update` with its value left raw.
type streamUpdate struct {
	Field string          `json:"field"`
	Value json.RawMessage `json:"value"`
}

// Notice converts a client event produced in the 1.2 form for a client of version: stream
// add / update "." carry legacy StreamInfos, and session-level `progress ready` becomes
// `session-progress`. Data that does not decode is passed through unchanged.
func Notice(version, event string, data json.RawMessage) (string, json.RawMessage) {
	if !IsLegacy(version) {
		return event, data
	}
	switch event {
	case protocol.EventStream:
		return event, streamNotice(version, data)
	case protocol.EventProgress:
		var p struct {
			SessionID string `json:"sessionId"`
			Status    string `json:"status"`
		}
		if json.Unmarshal(data, &p) == nil && p.SessionID != "" && p.Status == "ready" {
			return EventSessionProgress, data
		}
	}
	return event, data
}

// streamNotice downgrades the StreamInfo inside a stream event.
func streamNotice(version string, data json.RawMessage) json.RawMessage {
	var ev streamEvent
	if json.Unmarshal(data, &ev) != nil {
		return data
	}
	switch ev.Status {
	case "add":
		conv, ok := convertRaw(version, ev.Data)
		if !ok {
			return data
		}
		ev.Data = conv
	case "update":
		var u streamUpdate
		if json.Unmarshal(ev.Data, &u) != nil || u.Field != "." {
			return data
		}
		conv, ok := convertRaw(version, u.Value)
		if !ok {
			return data
		}
		u.Value = conv
		b, err := json.Marshal(u)
		if err != nil {
			return data
		}
		ev.Data = b
	default:
		return data
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return data
	}
	return b
}

// convertRaw downgrades an encoded 1.2 StreamInfo.
func convertRaw(version string, raw json.RawMessage) (json.RawMessage, bool) {
	var s protocol.StreamInfo
	if json.Unmarshal(raw, &s) != nil {
		return nil, false
	}
	b, err := json.Marshal(Stream(version, s))
	return b, err == nil
}

// StreamChange describes how a `stream` event changes the set of streams: Info is set for
// add and update ".", Removed for remove.
type StreamChange struct {
	ID      string
	Info    *protocol.StreamInfo
	Removed bool
}

// ParseStreamChange decodes a 1.2 `stream` event; ok is false for events that change no
// stream description (status updates) or do not decode.
func ParseStreamChange(data json.RawMessage) (StreamChange, bool) {
	var ev streamEvent
	if json.Unmarshal(data, &ev) != nil || ev.ID == "" {
		return StreamChange{}, false
	}
	raw := ev.Data
	switch ev.Status {
	case "remove":
		return StreamChange{ID: ev.ID, Removed: true}, true
	case "update":
		var u streamUpdate
		if json.Unmarshal(ev.Data, &u) != nil || u.Field != "." {
			return StreamChange{}, false
		}
		raw = u.Value
	case "add":
	default:
		return StreamChange{}, false
	}
	var s protocol.StreamInfo
	if json.Unmarshal(raw, &s) != nil {
		return StreamChange{}, false
	}
	return StreamChange{ID: ev.ID, Info: &s}, true
}

// Rids maps each simulcast rid of a stream's video tracks to the track id.
func Rids(s protocol.StreamInfo) map[string]string {
	var m map[string]string
	for _, t := range s.Media.Tracks {
		if t.Type == "video" && t.Rid != "" && t.ID != "" {
			if m == nil {
				m = map[string]string{}
			}
			m[t.Rid] = t.ID
		}
	}
	return m
}
