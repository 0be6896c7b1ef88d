package room

import (
	"encoding/json"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// Stream info types.
const (
	streamForward = "forward"
	infoWebRTC    = "webrtc"
	infoStreaming = "streaming"
)

// streamInfo is a publication in the protocol 1.2 StreamInfo form (OWT stream.js
// toPortalFormat); r.mu is held.
func (r *Room) streamInfo(pub *publication) protocol.StreamInfo {
	out := protocol.StreamInfo{
		ID: pub.id, Type: streamForward,
		Media: protocol.StreamMedia{Tracks: make([]protocol.TrackInfo, 0, len(pub.tracks))},
	}
	if pub.infoType == infoMixed {
		out.Type, out.Info = streamMixed, r.mixedStreamInfo(pub)
	} else {
		out.Info, _ = json.Marshal(protocol.ForwardInfo{
			Owner: pub.owner, Type: pub.infoType, InViews: append([]string{}, pub.inViews...),
			Attributes: json.RawMessage(pub.attributes),
		})
	}
	if pub.data {
		data := true
		out.Data = &data
	}
	for _, t := range pub.tracks {
		t.Status = pub.status(t.Type)
		t.Optional = r.optionalOf(t)
		if pub.infoType != infoWebRTC {
			t.ID, t.Mid = "", "" // OWT: only WebRTC tracks have ids; the agent's stay internal
		}
		out.Media.Tracks = append(out.Media.Tracks, t)
	}
	return out
}

// status is "active" or "inactive" (paused by stream-control) for kind.
func (p *publication) status(kind string) string {
	if p.muted[kind] {
		return "inactive"
	}
	return "active"
}

// restStream is a stream in the management API's v1.0 StreamInfo form.
type restStream struct {
	ID    string          `json:"id"`
	Type  string          `json:"type"`
	Media restMedia       `json:"media"`
	Info  json.RawMessage `json:"info"`
}

// restMedia holds an object per present kind and false for an absent one.
type restMedia struct {
	Audio any `json:"audio"`
	Video any `json:"video"`
}

// restAudio is the audio of a v1.0 stream.
type restAudio struct {
	Status   string          `json:"status"`
	Source   string          `json:"source"`
	Format   protocol.Format `json:"format"`
	Optional restOptional    `json:"optional"`
}

// restVideo is the video of a v1.0 stream; Original has one entry per simulcast layer.
type restVideo struct {
	Status   string         `json:"status"`
	Source   string         `json:"source"`
	Original []restOriginal `json:"original"`
	Optional restOptional   `json:"optional"`
}

// restOriginal is one published video encoding.
type restOriginal struct {
	Format       protocol.Format           `json:"format"`
	Parameters   *protocol.VideoParameters `json:"parameters,omitempty"`
	SimulcastRid string                    `json:"simulcastRid,omitempty"`
}

// restOptional lists the formats (and for video the parameters) a subscriber may ask for
// besides the original.
type restOptional struct {
	Format     []protocol.Format            `json:"format"`
	Parameters *protocol.OptionalParameters `json:"parameters,omitempty"`
}

// restOptionalOf converts a track's optional capabilities to the v1.0 form.
func restOptionalOf(o *protocol.Optional) restOptional {
	out := restOptional{Format: []protocol.Format{}}
	if o != nil {
		out.Format = append(out.Format, o.Format...)
		out.Parameters = o.Parameters
	}
	return out
}

// restStreamOf converts a publication to the v1.0 form; r.mu is held.
func (r *Room) restStreamOf(pub *publication) restStream {
	s := r.streamInfo(pub)
	out := restStream{ID: s.ID, Type: s.Type, Info: s.Info, Media: restMedia{Audio: false, Video: false}}
	var video *restVideo
	for _, t := range s.Media.Tracks {
		switch t.Type {
		case kindAudio:
			if out.Media.Audio == false {
				out.Media.Audio = restAudio{Status: t.Status, Source: t.Source, Format: t.Format,
					Optional: restOptionalOf(t.Optional)}
			}
		case kindVideo:
			if video == nil {
				video = &restVideo{Status: t.Status, Source: t.Source, Optional: restOptionalOf(t.Optional)}
			}
			video.Original = append(video.Original, restOriginal{Format: t.Format, Parameters: t.Parameters, SimulcastRid: t.Rid})
		}
	}
	if video != nil {
		out.Media.Video = *video
	}
	return out
}
