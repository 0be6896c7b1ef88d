package room

import (
	"context"
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/common/protocol"
	model "github.com/conclave-rtc/conclave/common/room"
)

func TestRoomTranscodedSubscription(t *testing.T) {
	h := newMixHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.join("b", "presenter", "p1")
	h.publish("a", "s1", "t1")
	h.subscribe("b", "sub1", "tb",
		protocol.SubTrack{Type: "audio", Mid: "0", From: "s1"},
		protocol.SubTrack{Type: "video", Mid: "1", From: "s1", Format: &protocol.Format{Codec: "h264"},
			Parameters: &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: 320, Height: 240}, Framerate: 30}})
	starts := h.mix.byMethod(protocol.MethodXcodeStart)
	if len(starts) != 1 || starts[0].agent != mixAgent {
		t.Fatalf("xcode.start %+v", starts)
	}
	want := `{"id":"sub1-video","roomId":"room1","controller":"conference-1@test",` +
		`"source":{"source":{"agent":"webrtc-0000@test","trackId":"t1-1"},"format":{"codec":"vp8"},` +
		`"parameters":{"resolution":{"width":640,"height":480},"framerate":30}},` +
		`"format":{"codec":"h264","profile":"CB"},"parameters":{"resolution":{"width":320,"height":240}}}`
	if got := jsonText(t, starts[0].req); got != want {
		t.Fatalf("xcode.start\n%s\nwant\n%s", got, want)
	}
	sub := h.rtc.byMethod(protocol.MethodRTCSubscribe)[0].req.(protocol.RTCSubscribe)
	if sub.Tracks[0].Source != (protocol.TrackRef{Agent: testAgent, TrackID: "t1-0"}) ||
		sub.Tracks[1].Source != (protocol.TrackRef{Agent: mixAgent, TrackID: "xc-sub1-video"}) ||
		sub.Tracks[1].Format != (protocol.Format{Codec: "h264", Profile: "CB"}) {
		t.Fatalf("rtc.subscribe tracks %+v", sub.Tracks)
	}
	// A transcoded track is not re-parameterised by subscription-control update.
	err := h.r.SubscriptionControl(context.Background(), protocol.ControlRequest{ParticipantID: "b", ID: "sub1",
		Operation: "update", Data: []byte(`{"video":{"parameters":{"framerate":15}}}`)})
	wantErr(t, err, msgUpdateSubFailed)
	if err := h.r.Unsubscribe("b", "sub1"); err != nil {
		t.Fatal(err)
	}
	stops := h.mix.byMethod(protocol.MethodXcodeStop)
	if len(stops) != 1 || stops[0].agent != mixAgent || stops[0].req.(protocol.SessionStop).ID != "sub1-video" {
		t.Fatalf("xcode.stop %+v", stops)
	}

	// An audio transcode, then its failure ends the subscription.
	h.subscribe("b", "sub2", "tb", protocol.SubTrack{Type: "audio", Mid: "2", From: "s1", Format: &protocol.Format{Codec: "pcmu"}})
	starts = h.mix.byMethod(protocol.MethodXcodeStart)
	if len(starts) != 2 || jsonText(t, starts[1].req.(protocol.XcodeStart).Format) != `{"codec":"pcmu"}` ||
		starts[1].req.(protocol.XcodeStart).Parameters != nil {
		t.Fatalf("audio xcode.start %+v", starts)
	}
	h.notes.take()
	if !h.r.HandleMix(protocol.MixEvent{Agent: mixAgent, ID: "sub2-audio", Type: protocol.MixEventFailed, Reason: "decoder error"}) {
		t.Fatal("xcode failure not taken")
	}
	prog := find(h.notes.take(), "b", protocol.EventProgress)
	if len(prog) != 1 || string(prog[0].data) != `{"id":"tb","sessionId":"sub2","status":"error","data":"decoder error"}` {
		t.Fatalf("progress %+v", prog)
	}
	if stops := h.mix.byMethod(protocol.MethodXcodeStop); len(stops) != 2 {
		t.Fatalf("xcode.stop after failure %+v", stops)
	}
	// The source's end stops the transcode too.
	h.subscribe("b", "sub3", "tb", protocol.SubTrack{Type: "video", Mid: "3", From: "s1", Format: &protocol.Format{Codec: "vp9"}})
	if err := h.r.Unpublish("a", "s1"); err != nil {
		t.Fatal(err)
	}
	if stops := h.mix.byMethod(protocol.MethodXcodeStop); len(stops) != 3 || stops[2].req.(protocol.SessionStop).ID != "sub3-video" {
		t.Fatalf("xcode.stop after unpublish %+v", stops)
	}
}

func TestRoomTranscodeRefusals(t *testing.T) {
	h264 := &protocol.Format{Codec: "h264"}
	tests := []struct {
		name    string
		mutate  func(*model.Room)
		noAgent bool
		track   protocol.SubTrack
		want    string
	}{
		{name: "format transcoding off", mutate: func(r *model.Room) { r.Transcoding.Video.Format = false },
			track: protocol.SubTrack{Type: "video", Format: h264}, want: "Target video stream does NOT satisfy:Format is not acceptable"},
		{name: "format not in mediaOut", track: protocol.SubTrack{Type: "video", Format: &protocol.Format{Codec: "av1"}},
			want: "Target video stream does NOT satisfy:Format is not acceptable"},
		{name: "audio transcoding off", mutate: func(r *model.Room) { r.Transcoding.Audio = false },
			track: protocol.SubTrack{Type: "audio", Format: &protocol.Format{Codec: "pcmu"}},
			want:  "Target audio stream does NOT satisfy:Format is not acceptable"},
		{name: "larger resolution", track: protocol.SubTrack{Type: "video",
			Parameters: &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: 1280, Height: 720}}},
			want: "Target video stream does NOT satisfy:Resolution is not acceptable"},
		{name: "resolution transcoding off", mutate: func(r *model.Room) { r.Transcoding.Video.Parameters.Resolution = false },
			track: protocol.SubTrack{Type: "video", Parameters: &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: 320, Height: 240}}},
			want:  "Target video stream does NOT satisfy:Resolution is not acceptable"},
		{name: "higher framerate", track: protocol.SubTrack{Type: "video", Parameters: &protocol.VideoParameters{Framerate: 60}},
			want: "Target video stream does NOT satisfy:Framerate is not acceptable"},
		{name: "absolute bitrate", track: protocol.SubTrack{Type: "video", Parameters: &protocol.VideoParameters{Bitrate: &protocol.Bitrate{Kbps: 300}}},
			want: "Target video stream does NOT satisfy:Bitrate is not acceptable"},
		{name: "kfi off", mutate: func(r *model.Room) { r.Transcoding.Video.Parameters.KeyFrameInterval = false },
			track: protocol.SubTrack{Type: "video", Parameters: &protocol.VideoParameters{KeyFrameInterval: 5}},
			want:  "Target video stream does NOT satisfy:KeyFrameInterval is not acceptable"},
		{name: "no mixing agent", noAgent: true, track: protocol.SubTrack{Type: "video", Format: h264}, want: msgNoMixingAgent},
		{name: "same as source", track: protocol.SubTrack{Type: "video", Format: &protocol.Format{Codec: "vp8"},
			Parameters: &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: 640, Height: 480}, Bitrate: &protocol.Bitrate{Multiple: "x1.0"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newMixHarness(t, tt.mutate)
			h.join("a", "presenter", "p1")
			h.join("b", "presenter", "p1")
			h.publish("a", "s1", "t1")
			h.agent.Store(!tt.noAgent)
			tt.track.From, tt.track.Mid = "s1", "0"
			_, err := h.r.Subscribe(context.Background(), protocol.SubscribeRequest{
				ParticipantID: "b", SubscriptionID: "sub1", TransportID: "tb", Tracks: []protocol.SubTrack{tt.track}})
			wantErr(t, err, tt.want)
			if n := len(h.mix.byMethod(protocol.MethodXcodeStart)); n != 0 {
				t.Fatalf("%d xcode.start", n)
			}
		})
	}
}

func TestRoomTranscodeStartFailure(t *testing.T) {
	h := newMixHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.join("b", "presenter", "p1")
	h.publish("a", "s1", "t1")
	h.mix.fail[protocol.MethodXcodeStart] = errNoMixTracks
	_, err := h.r.Subscribe(context.Background(), protocol.SubscribeRequest{ParticipantID: "b", SubscriptionID: "sub1",
		TransportID: "tb", Tracks: []protocol.SubTrack{{Type: "video", Mid: "0", From: "s1", Format: &protocol.Format{Codec: "vp9"}}}})
	if err == nil || !strings.HasPrefix(err.Error(), "1301 "+msgXcodeFailed) {
		t.Fatalf("error %v", err)
	}
	stops := h.mix.byMethod(protocol.MethodXcodeStop)
	if len(stops) != 1 || len(h.rtc.byMethod(protocol.MethodRTCSubscribe)) != 0 {
		t.Fatalf("after a failed transcode start: stops %+v", stops)
	}
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	if len(h.r.subs) != 0 || len(h.r.transports) != 1 {
		t.Fatalf("left %d subscriptions, %d transports", len(h.r.subs), len(h.r.transports))
	}
}

func TestRoomRecordingTranscodeAndMixedSource(t *testing.T) {
	h := newMixHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.publish("a", "s1", "t1")
	spec := recording("auto", "s1", "s1")
	spec.Media.Video.Format = &protocol.VideoFormat{Codec: "h264"}
	raw, err := h.r.AddRecording(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	id := decodeJSON(t, raw)["id"].(string)
	starts := h.mix.byMethod(protocol.MethodXcodeStart)
	if len(starts) != 1 || starts[0].req.(protocol.XcodeStart).ID != id+"-video" ||
		starts[0].req.(protocol.XcodeStart).Format != (protocol.Format{Codec: "h264", Profile: "CB"}) ||
		starts[0].req.(protocol.XcodeStart).Source.Source != (protocol.TrackRef{Agent: testAgent, TrackID: "t1-1"}) {
		t.Fatalf("xcode.start %+v", starts)
	}
	rec := h.sess.byMethod(protocol.MethodRecStart)[0].req.(protocol.RecStart)
	if rec.Container != "mkv" || rec.Video.Source != (protocol.TrackRef{Agent: mixAgent, TrackID: "xc-" + id + "-video"}) ||
		rec.Video.Format != (protocol.Format{Codec: "h264", Profile: "CB"}) ||
		rec.Audio.Source != (protocol.TrackRef{Agent: testAgent, TrackID: "t1-0"}) {
		t.Fatalf("rec.start %+v %+v %+v", rec, rec.Audio, rec.Video)
	}
	if !strings.Contains(string(raw), `"video":{"from":"s1","format":{"codec":"h264","profile":"CB"}`) {
		t.Fatalf("REST recording %s", raw)
	}
	if err := h.r.DeleteSession(context.Background(), SessionRecording, id); err != nil {
		t.Fatal(err)
	}
	if stops := h.mix.byMethod(protocol.MethodXcodeStop); len(stops) != 1 || stops[0].req.(protocol.SessionStop).ID != id+"-video" {
		t.Fatalf("xcode.stop %+v", stops)
	}

	// A format outside mediaOut stays refused as OWT does.
	spec.Media.Video.Format = &protocol.VideoFormat{Codec: "av1"}
	_, err = h.r.AddRecording(context.Background(), spec)
	wantStatus(t, err, 400, 1301)
	wantErr(t, err, msgFormatNotOK)

	// A mixed stream is recorded like any stream: its tracks are on the mixing agent.
	if _, err := h.r.AddRecording(context.Background(), recording("auto", mixedID, mixedID)); err != nil {
		t.Fatal(err)
	}
	rec = h.sess.byMethod(protocol.MethodRecStart)[1].req.(protocol.RecStart)
	if rec.Container != "mkv" || rec.Audio.Source != (protocol.TrackRef{Agent: mixAgent, TrackID: mixedID + "-a"}) ||
		rec.Video.Source != (protocol.TrackRef{Agent: mixAgent, TrackID: mixedID + "-v"}) {
		t.Fatalf("rec.start of the mixed stream %+v", rec)
	}
	if _, err := h.r.AddStreamingOut(context.Background(), protocol.StreamingOut{Protocol: "rtmp", URL: "rtmp://127.0.0.1/live/x",
		Media: protocol.OutMedia{Audio: &protocol.OutAudio{From: mixedID}, Video: &protocol.OutVideo{From: mixedID}}}); err != nil {
		t.Fatal(err)
	}
	out := h.sess.byMethod(protocol.MethodOutStart)[0].req.(protocol.OutStart)
	if out.Video.Source != (protocol.TrackRef{Agent: mixAgent, TrackID: mixedID + "-v"}) || len(h.mix.byMethod(protocol.MethodXcodeStart)) != 1 {
		t.Fatalf("out.start of the mixed stream %+v", out)
	}
}
