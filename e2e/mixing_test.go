package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
)

// mixInput is one publisher of the mixing test: a solid colour and a tone.
type mixInput struct {
	user   string
	colour string // ffmpeg colour name
	rgb    rgb
	hz     float64
	client *rtc.Client
	pub    *rtc.Publication
}

// layoutEntry is one region of a mixed stream's layout.
type layoutEntry = e2eutil.LayoutEntry

// fraction parses an OWT area value ("1/3", "0", "1").
func fraction(t *testing.T, s string) float64 {
	t.Helper()
	v, err := e2eutil.ParseFraction(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// mixedLayout reads the layout of a mixed stream's info.
func mixedLayout(t *testing.T, info json.RawMessage) []layoutEntry {
	t.Helper()
	var v struct {
		Label  string        `json:"label"`
		Layout []layoutEntry `json:"layout"`
	}
	if err := json.Unmarshal(info, &v); err != nil {
		t.Fatalf("mixed stream info %s: %v", info, err)
	}
	return v.Layout
}

// streamsIn returns the streams placed in a layout.
func streamsIn(l []layoutEntry) []string { return e2eutil.StreamsIn(l) }

// TestE2EMixing mixes three publishers into the room's default view on the all-in-one binary
// and checks the mixed picture, the mixed audio, live layout changes, a recording and an
// RTMP streaming-out of the mixed stream, a transcoded subscription and bad input.
func TestE2EMixing(t *testing.T) {
	needMediaTools(t)
	srv := startRealtimeAllInOne(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- output of conclave ---\n%s", srv.proc.Output())
		}
	})
	room := srv.api.CreateRoom(t, "mixing")
	mixedID := room + "-common"
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()

	ev := participant.NewRecorder()
	opts := loopbackClient
	opts.Events = ev.Events()
	x, info := participant.JoinReady(ctx, t, func() string { return srv.api.MustToken(t, room, "xavier", "presenter", "") }, opts)
	if !slices.ContainsFunc(info.Room.Streams, func(s protocol.StreamInfo) bool { return s.ID == mixedID && s.Type == "mixed" }) {
		ev.Wait(ctx, t, "mixed stream "+mixedID, participant.StreamEvent("add", mixedID))
	}

	inputs := []*mixInput{
		{user: "red", colour: "red", rgb: rgb{255, 0, 0}, hz: 440},
		{user: "green", colour: "lime", rgb: rgb{0, 255, 0}, hz: 660},
		{user: "blue", colour: "blue", rgb: rgb{0, 0, 255}, hz: 880},
	}
	for _, in := range inputs {
		in.client, _ = participant.JoinReady(ctx, t, func() string { return srv.api.MustToken(t, room, in.user, "presenter", "") }, loopbackClient)
		pub, err := in.client.Publish(ctx, colourTracks(t, in.colour, int(in.hz)), rtc.PublishOptions{})
		if err != nil {
			t.Fatalf("%s publish: %v", in.user, err)
		}
		in.pub = pub
		ev.Wait(ctx, t, "stream add of "+in.user, participant.StreamEvent("add", pub.ID()))
		if _, err := in.client.StreamControl(ctx, pub.ID(), "mix", "common"); err != nil {
			t.Fatalf("%s mix: %v", in.user, err)
		}
	}
	all := []string{inputs[0].pub.ID(), inputs[1].pub.ID(), inputs[2].pub.ID()}
	layout := waitLayout(ctx, t, x, ev, mixedID, func(l []layoutEntry) bool { return len(streamsIn(l)) == 3 })
	t.Logf("layout with 3 inputs: %+v", layout)

	mixed, _ := x.Stream(mixedID)
	cap1 := captureStream(ctx, t, x, mixed, rtc.SubscribeOptions{Audio: true, Video: true}, 3*time.Second)
	checkRegions(t, cap1.video, layout, inputs, 640, 480)
	pcm := decodePCM(t, cap1.audio)
	for _, in := range inputs {
		level, off := toneLevel(pcm, in.hz), toneLevel(pcm, in.hz+137)
		t.Logf("mixed audio: %v Hz level %.1f (off-tone %.1f)", in.hz, level, off)
		if level < 5*off || level < 20 {
			t.Errorf("mixed audio lacks the %v Hz tone of %s: level %.1f, off-tone %.1f", in.hz, in.user, level, off)
		}
	}

	// Blue leaves: its region frees within the contract's 2 s (waited for generously, logged).
	left := time.Now()
	if err := inputs[2].pub.Close(); err != nil {
		t.Fatalf("unpublish blue: %v", err)
	}
	layout = waitLayout(ctx, t, x, ev, mixedID, func(l []layoutEntry) bool {
		return len(streamsIn(l)) == 2 && !slices.Contains(streamsIn(l), all[2])
	})
	t.Logf("layout updated %s after the publisher left: %+v", time.Since(left).Round(time.Millisecond), layout)

	t.Run("Recording", func(t *testing.T) { checkMixedRecording(ctx, t, srv, room, mixedID, layout, inputs[:2]) })
	t.Run("StreamingOut", func(t *testing.T) { checkMixedStreamingOut(t, srv, room, mixedID, layout, inputs[:2]) })
	t.Run("Transcoded", func(t *testing.T) {
		mixed, _ := x.Stream(mixedID)
		c := captureStream(ctx, t, x, mixed, rtc.SubscribeOptions{Video: true,
			VideoParameters: &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: 320, Height: 240}}}, 2*time.Second)
		_, w, h := lastFrame(t, c.video, 64, 48)
		if w != 320 || h != 240 {
			t.Errorf("transcoded subscription: frames %dx%d, want 320x240", w, h)
		}
	})
	t.Run("BadInput", func(t *testing.T) { checkMixBadInput(ctx, t, srv, x, room, mixedID, all[0]) })
	t.Run("SetRegion", func(t *testing.T) {
		red := inputs[0]
		if _, err := red.client.StreamControl(ctx, red.pub.ID(), "set-region", map[string]string{"view": "common", "region": "2"}); err != nil {
			t.Fatalf("set-region: %v", err)
		}
		l := waitLayout(ctx, t, x, ev, mixedID, func(l []layoutEntry) bool {
			return len(l) > 1 && l[1].Stream == all[0] && l[0].Stream == all[1]
		})
		t.Logf("layout after set-region: %+v", l)
		raw, err := red.client.StreamControl(ctx, red.pub.ID(), "get-region", "common")
		var got struct {
			Region string `json:"region"`
		}
		if err != nil || json.Unmarshal(raw, &got) != nil || got.Region != "2" {
			t.Errorf("get-region answered %s, %v; want region 2", raw, err)
		}
	})
}

// waitLayout waits until the mixed stream's layout (login/add info, then video.layout
// updates) satisfies ok.
func waitLayout(ctx context.Context, t *testing.T, x *rtc.Client, ev *participant.Recorder, mixedID string, ok func([]layoutEntry) bool) []layoutEntry {
	t.Helper()
	for {
		if s, found := x.Stream(mixedID); found {
			if l := mixedLayout(t, s.Info); ok(l) {
				return l
			}
		}
		wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		more := ev.Changed()
		select {
		case <-more:
		case <-wctx.Done():
		}
		cancel()
		if ctx.Err() != nil {
			s, _ := x.Stream(mixedID)
			t.Fatalf("layout of %s never matched: %s", mixedID, s.Info)
		}
	}
}

// checkRegions decodes the last frame of a video file and checks that each input's colour is
// in the region the layout gives it and that empty regions show the black background.
func checkRegions(t *testing.T, video string, layout []layoutEntry, inputs []*mixInput, wantW, wantH int) {
	t.Helper()
	const w, h = 128, 96
	pix, cw, ch := lastFrame(t, video, w, h)
	if cw != wantW || ch != wantH {
		t.Errorf("mixed video %dx%d, want %dx%d", cw, ch, wantW, wantH)
	}
	for _, e := range layout {
		a := e.Region.Area
		got := meanRGB(pix, w, h, fraction(t, a.Left), fraction(t, a.Top), fraction(t, a.Width), fraction(t, a.Height))
		want, who := rgb{0, 0, 0}, "background"
		for _, in := range inputs {
			if in.pub.ID() == e.Stream {
				want, who = in.rgb, in.user
			}
		}
		t.Logf("region %s (%s): mean colour %.0f, want %v", e.Region.ID, who, got, want)
		if !got.near(want, 60) {
			t.Errorf("region %s should show %s %v, shows %.0f", e.Region.ID, who, want, got)
		}
	}
}

// checkMixedRecording records the mixed stream in mkv and checks codecs and regions.
func checkMixedRecording(ctx context.Context, t *testing.T, srv rtServer, room, mixedID string, layout []layoutEntry, inputs []*mixInput) {
	s := &sessionsRoom{api: srv.api, proc: srv.proc, room: room}
	rec := s.addSession(t, "recordings", map[string]any{"container": "mkv", "media": avFrom(mixedID, mixedID)})
	file := checkStorage(t, rec, ".mkv")
	time.Sleep(3 * time.Second)
	var sp span
	s.stopRecording(t, rec.ID, file, &sp)
	p := e2eutil.Probe(t, file)
	if p.Codecs()["video"] != "vp8" || p.Codecs()["audio"] != "opus" {
		t.Fatalf("recorded mixed stream: %v, want vp8 + opus", p.Codecs())
	}
	t.Logf("recording of the mixed stream: %v, %s", p.Codecs(), p.Duration)
	checkRegions(t, file, layout, inputs, 640, 480)
}

// checkMixedStreamingOut pushes the mixed stream to nginx-rtmp, probes what it recorded and
// checks the regions of its last picture.
func checkMixedStreamingOut(t *testing.T, srv rtServer, room, mixedID string, layout []layoutEntry, inputs []*mixInput) {
	s := &sessionsRoom{api: srv.api, proc: srv.proc, room: room, rtmp: e2eutil.StartRTMP(t)}
	out := s.addSession(t, "streaming-outs", map[string]any{"protocol": "rtmp", "url": s.rtmp.URL("mixed"),
		"media": avFrom(mixedID, mixedID)})
	time.Sleep(4 * time.Second)
	e2eutil.Must(t, s.api.Do(t, "DELETE", s.path("v1", "streaming-outs/"+out.ID), nil), http.StatusOK)
	p := probeRecorded(t, s.rtmp.Recorded("mixed"))
	if p.Codecs()["video"] != "h264" || p.Codecs()["audio"] != "aac" {
		t.Fatalf("streamed mixed flv: %v, want h264 + aac", p.Codecs())
	}
	t.Logf("RTMP of the mixed stream: %v, %s", p.Codecs(), p.Duration)
	checkRegions(t, s.rtmp.Recorded("mixed"), layout, inputs, 640, 480)
}

// checkMixBadInput checks the errors of layout and view operations.
func checkMixBadInput(ctx context.Context, t *testing.T, srv rtServer, x *rtc.Client, room, mixedID, forward string) {
	path := "/v1/rooms/" + room + "/streams/"
	patch := func(id string, ops ...map[string]any) e2eutil.Response {
		return srv.api.Do(t, "PATCH", path+id, ops)
	}
	region := func(id, left string) map[string]any {
		return map[string]any{"id": id, "shape": "rectangle",
			"area": map[string]string{"left": left, "top": "0", "width": "1/2", "height": "1/2"}}
	}
	cases := []struct {
		name string
		r    e2eutil.Response
	}{
		{"region outside the picture", patch(mixedID, map[string]any{"op": "replace", "path": "/info/layout",
			"value": []map[string]any{{"stream": forward, "region": region("1", "2")}}})},
		{"duplicate region ids", patch(mixedID, map[string]any{"op": "replace", "path": "/info/layout",
			"value": []map[string]any{{"region": region("1", "0")}, {"region": region("1", "1/2")}}})},
		{"layout of a forward stream", patch(forward, map[string]any{"op": "replace", "path": "/info/layout",
			"value": []map[string]any{{"region": region("1", "0")}}})},
		{"unknown view", patch(forward, map[string]any{"op": "add", "path": "/info/inViews", "value": "nope"})},
		{"unknown mixed stream", patch(room+"-nope", map[string]any{"op": "replace", "path": "/info/layout",
			"value": []map[string]any{{"region": region("1", "0")}}})},
	}
	for _, c := range cases {
		if c.r.Status < 400 || c.r.ErrorCode() == 0 {
			t.Errorf("%s: answered %d %s, want an OWT error", c.name, c.r.Status, c.r.Body)
		} else {
			t.Logf("%s: %d %s", c.name, c.r.Status, c.r.Body)
		}
	}
	if _, err := x.StreamControl(ctx, forward, "set-region", map[string]string{"view": "common", "region": "99"}); err == nil {
		t.Errorf("set-region to an unknown region succeeded")
	}
	mixed, _ := x.Stream(mixedID)
	_, err := x.Subscribe(ctx, mixed, rtc.SubscribeOptions{Video: true,
		VideoParameters: &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: 333, Height: 222}}})
	if err == nil {
		t.Errorf("subscription at a resolution the room does not offer succeeded")
	} else {
		t.Logf("resolution not offered: %v", err)
	}
}
