package room

import (
	"testing"

	"github.com/conclave-rtc/conclave/common/protocol"
	model "github.com/conclave-rtc/conclave/common/room"
)

func TestRoomOptionalCapabilities(t *testing.T) {
	const (
		videoFormats = `"format":[{"codec":"h264","profile":"CB"},{"codec":"h264","profile":"B"},{"codec":"vp9"}]`
		allParams    = `"parameters":{"resolution":[{"width":480,"height":360},{"width":426,"height":320},{"width":320,"height":240},` +
			`{"width":213,"height":160},{"width":160,"height":120},{"width":352,"height":288}],"framerate":[6,12,15,24],` +
			`"bitrate":["x0.8","x0.6","x0.4","x0.2"],"keyFrameInterval":[100,30,5,2,1]}`
	)
	vga30 := &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: 640, Height: 480}, Framerate: 30}
	tests := []struct {
		name        string
		mutate      func(*model.Room)
		noAgent     bool
		params      *protocol.VideoParameters
		rid         string
		video       string
		audioFormat int // number of optional audio formats
	}{
		{name: "defaults", params: vga30, video: `{` + videoFormats + `,` + allParams + `}`, audioFormat: 9},
		{name: "no video format transcoding", params: vga30, video: `{` + allParams + `}`, audioFormat: 9,
			mutate: func(r *model.Room) { r.Transcoding.Video.Format = false }},
		{name: "no audio transcoding", params: vga30, video: `{` + videoFormats + `,` + allParams + `}`,
			mutate: func(r *model.Room) { r.Transcoding.Audio = false }},
		{name: "resolution only", params: vga30,
			video: `{` + videoFormats + `,"parameters":{"resolution":[{"width":480,"height":360},{"width":426,"height":320},` +
				`{"width":320,"height":240},{"width":213,"height":160},{"width":160,"height":120},{"width":352,"height":288}],` +
				`"framerate":[],"bitrate":[],"keyFrameInterval":[]}}`, audioFormat: 9,
			mutate: func(r *model.Room) {
				r.Transcoding.Video.Parameters = model.TranscodingParameters{Resolution: true}
			}},
		{name: "no parameter transcoding", params: vga30, video: `{` + videoFormats + `}`, audioFormat: 9,
			mutate: func(r *model.Room) { r.Transcoding.Video.Parameters = model.TranscodingParameters{} }},
		{name: "hd source and custom lists", audioFormat: 1,
			params: &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: 1280, Height: 720}, Framerate: 15},
			video: `{"format":[{"codec":"vp9"}],"parameters":{"resolution":[{"width":640,"height":360},{"width":640,"height":480}],` +
				`"framerate":[6],"bitrate":["x0.5"],"keyFrameInterval":[30]}}`,
			mutate: func(r *model.Room) {
				r.MediaOut.Audio = []model.AudioFormat{{Codec: "opus", SampleRate: 48000, ChannelNum: 2}, {Codec: "pcmu"}}
				r.MediaOut.Video.Format = []model.VideoFormat{{Codec: "vp8"}, {Codec: "vp9"}}
				r.MediaOut.Video.Parameters = model.MediaOutParameters{
					Resolution: []string{"x1/2", "vga", "hd720p", "hd1080p", "r640x360"}, Framerate: []int{6, 15, 30},
					Bitrate: []model.Bitrate{"x0.5", "800"}, KeyFrameInterval: []int{30, 30},
				}
			}},
		{name: "unknown source parameters", video: `{` + videoFormats + `}`, audioFormat: 9},
		{name: "simulcast layer", params: vga30, rid: "h", video: `{}`, audioFormat: 9},
		{name: "no mixing agent", params: vga30, noAgent: true, video: `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newMixHarness(t, tt.mutate)
			h.agent.Store(!tt.noAgent)
			h.join("a", "presenter", "p1")
			h.publishTracks("a", "s1", "t1", []protocol.RTCTrack{
				{ID: "t1-0", Mid: "0", Type: "audio", Format: protocol.Format{Codec: "opus", SampleRate: 48000, ChannelNum: 2}},
				{ID: "t1-1", Mid: "1", Rid: tt.rid, Type: "video", Format: protocol.Format{Codec: "vp8"}, Parameters: tt.params},
			})
			h.r.mu.Lock()
			info := h.r.streamInfo(h.r.pubs["s1"])
			h.r.mu.Unlock()
			if got := jsonText(t, info.Media.Tracks[1].Optional); got != tt.video {
				t.Fatalf("video optional\n%s\nwant\n%s", got, tt.video)
			}
			if got := len(info.Media.Tracks[0].Optional.Format); got != tt.audioFormat {
				t.Fatalf("audio optional formats %d, want %d", got, tt.audioFormat)
			}
			// The v1.0 REST form carries the same capabilities.
			rest, err := h.r.Stream("s1")
			if err != nil {
				t.Fatal(err)
			}
			m := decodeJSON(t, rest)
			video := m["media"].(map[string]any)["video"].(map[string]any)
			opt := video["optional"].(map[string]any)
			if _, ok := opt["format"].([]any); !ok {
				t.Fatalf("REST optional %v", opt)
			}
			if _, has := opt["parameters"]; has != (info.Media.Tracks[1].Optional.Parameters != nil) {
				t.Fatalf("REST optional parameters %v", opt)
			}
		})
	}
}
