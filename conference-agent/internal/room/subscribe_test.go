package room

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/conclave-rtc/conclave/common/protocol"
)

func res(w, h int) *protocol.Resolution { return &protocol.Resolution{Width: w, Height: h} }

func TestRoomSubscribeChecks(t *testing.T) {
	vp8 := protocol.Format{Codec: "vp8"}
	h264 := protocol.Format{Codec: "h264"}
	opus := protocol.Format{Codec: "opus", SampleRate: 48000}
	tests := []struct {
		name   string
		who    string
		id     string
		tracks []protocol.SubTrack
		want   string
	}{
		{"ok", "b", "sub", []protocol.SubTrack{{Type: "audio", Mid: "0", From: "s1"}, {Type: "video", Mid: "1", From: "s1"}}, ""},
		{"not joined", "zz", "sub", []protocol.SubTrack{{Type: "audio", Mid: "0", From: "s1"}}, "Participant has not joined"},
		{"no video permission", "ao", "sub", []protocol.SubTrack{{Type: "video", Mid: "0", From: "s1"}}, "unauthorized"},
		{"exists", "b", "old", []protocol.SubTrack{{Type: "audio", Mid: "0", From: "s1"}}, "Subscription exists"},
		{"unknown source", "b", "sub", []protocol.SubTrack{{Type: "audio", Mid: "0", From: "nope"}},
			"Target audio stream does NOT satisfy:Requested audio stream"},
		{"video from an audio track", "b", "sub", []protocol.SubTrack{{Type: "video", Mid: "0", From: "t1-0"}},
			"Target video stream does NOT satisfy:Requested video stream"},
		{"track id", "b", "sub", []protocol.SubTrack{{Type: "video", Mid: "0", From: "t1-1"}}, ""},
		{"same format", "b", "sub", []protocol.SubTrack{{Type: "audio", Mid: "0", From: "s1", Format: &opus}}, ""},
		{"same video format", "b", "sub", []protocol.SubTrack{{Type: "video", Mid: "0", From: "s1", Format: &vp8}}, ""},
		{"other format", "b", "sub", []protocol.SubTrack{{Type: "video", Mid: "0", From: "s1", Format: &h264}},
			"Target video stream does NOT satisfy:Format is not acceptable"},
		{"other resolution", "b", "sub", []protocol.SubTrack{{Type: "video", Mid: "0", From: "s1",
			Parameters: &protocol.VideoParameters{Resolution: res(320, 240)}}},
			"Target video stream does NOT satisfy:Resolution is not acceptable"},
		{"own resolution", "b", "sub", []protocol.SubTrack{{Type: "video", Mid: "0", From: "s1",
			Parameters: &protocol.VideoParameters{Resolution: res(640, 480), Bitrate: &protocol.Bitrate{Multiple: "x1.0"}}}}, ""},
		{"lower bitrate", "b", "sub", []protocol.SubTrack{{Type: "video", Mid: "0", From: "s1",
			Parameters: &protocol.VideoParameters{Bitrate: &protocol.Bitrate{Multiple: "x0.8"}}}},
			"Target video stream does NOT satisfy:Bitrate is not acceptable"},
		{"other framerate", "b", "sub", []protocol.SubTrack{{Type: "video", Mid: "0", From: "s1",
			Parameters: &protocol.VideoParameters{Framerate: 15}}},
			"Target video stream does NOT satisfy:Framerate is not acceptable"},
		{"key frame interval", "b", "sub", []protocol.SubTrack{{Type: "video", Mid: "0", From: "s1",
			Parameters: &protocol.VideoParameters{KeyFrameInterval: 5}}},
			"Target video stream does NOT satisfy:KeyFrameInterval is not acceptable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.join("a", "presenter", "p1")
			h.join("b", "presenter", "p2")
			h.join("ao", "audio_only_presenter", "p2")
			h.publish("a", "s1", "t1")
			h.subscribe("b", "old", "tb", protocol.SubTrack{Type: "audio", Mid: "9", From: "s1"})
			_, err := h.r.Subscribe(context.Background(), protocol.SubscribeRequest{
				ParticipantID: tt.who, SubscriptionID: tt.id, TransportID: "tb", Tracks: tt.tracks,
			})
			wantErr(t, err, tt.want)
		})
	}
}

// simulcast publishes three layers of one video mid, lowest first.
func simulcast(h *harness) {
	vp8 := protocol.Format{Codec: "vp8"}
	h.publishTracks("a", "s1", "t1", []protocol.RTCTrack{
		{ID: "t1-0:q", Mid: "0", Rid: "q", Type: "video", Format: vp8, Parameters: &protocol.VideoParameters{Resolution: res(320, 180)}},
		{ID: "t1-0:f", Mid: "0", Rid: "f", Type: "video", Format: vp8, Parameters: &protocol.VideoParameters{Resolution: res(1280, 720)}},
		{ID: "t1-0:h", Mid: "0", Rid: "h", Type: "video", Format: vp8, Parameters: &protocol.VideoParameters{Resolution: res(640, 360)}},
	})
}

func TestRoomSubscribeSimulcast(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.join("b", "presenter", "p2")
	simulcast(h)
	h.subscribe("b", "sub1", "tb", protocol.SubTrack{Type: "video", Mid: "0", From: "s1"})
	h.subscribe("b", "sub2", "tb", protocol.SubTrack{Type: "video", Mid: "1", From: "t1-0:q"})
	calls := h.rtc.byMethod(protocol.MethodRTCSubscribe)
	first := calls[0].req.(protocol.RTCSubscribe).Tracks[0]
	if first.Source != (protocol.TrackRef{Agent: testAgent, TrackID: "t1-0:f"}) {
		t.Fatalf("stream id subscribes the highest layer, got %+v", first.Source)
	}
	var layers []string
	for _, l := range first.Layers {
		layers = append(layers, l.TrackID)
	}
	if got, _ := json.Marshal(layers); string(got) != `["t1-0:f","t1-0:h","t1-0:q"]` {
		t.Fatalf("layers = %s", got)
	}
	if second := calls[1].req.(protocol.RTCSubscribe).Tracks[0]; second.Source.TrackID != "t1-0:q" || len(second.Layers) != 3 {
		t.Fatalf("track id subscribes that layer, got %+v", second)
	}
}

func TestRoomSubscriptionReadyProgress(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.join("b", "presenter", "p2")
	h.publish("a", "s1", "t1")
	h.notes.take()
	h.subscribe("b", "sub1", "tb", protocol.SubTrack{Type: "audio", Mid: "0", From: "s1"})
	got := find(h.notes.take(), "b", protocol.EventProgress)
	if len(got) != 2 || string(got[1].data) != `{"id":"tb","sessionId":"sub1","status":"ready"}` {
		t.Fatalf("progress = %+v", got)
	}
	sub := h.rtc.byMethod(protocol.MethodRTCSubscribe)[0].req.(protocol.RTCSubscribe)
	if sub.Tracks[0].Format.Codec != "opus" || sub.Tracks[0].Source.TrackID != "t1-0" {
		t.Fatalf("rtc.subscribe = %+v", sub)
	}
}
