package room

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	model "github.com/conclave-rtc/conclave/common/room"
)

var avTracks = []protocol.PubTrack{{Type: "audio", Mid: "0", Source: "mic"}, {Type: "video", Mid: "1", Source: "camera"}}

func TestRoomPublishChecks(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*model.Room)
		setup  func(h *harness)
		req    protocol.PublishRequest
		want   string
	}{
		{name: "ok", req: protocol.PublishRequest{ParticipantID: "a", StreamID: "s", Tracks: avTracks}},
		{name: "not joined", req: protocol.PublishRequest{ParticipantID: "zz", StreamID: "s", Tracks: avTracks},
			want: "Participant has not joined"},
		{name: "viewer", req: protocol.PublishRequest{ParticipantID: "v", StreamID: "s", Tracks: avTracks},
			want: "unauthorized"},
		{name: "audio-only role publishing video", req: protocol.PublishRequest{ParticipantID: "ao", StreamID: "s", Tracks: avTracks},
			want: "unauthorized"},
		{name: "input limit", mutate: func(r *model.Room) { r.InputLimit = 1 },
			setup: func(h *harness) { h.publish("a", "s0", "t0") },
			req:   protocol.PublishRequest{ParticipantID: "a", StreamID: "s", Tracks: avTracks}, want: "Too many inputs"},
		{name: "input limit zero", mutate: func(r *model.Room) { r.InputLimit = 0 },
			req: protocol.PublishRequest{ParticipantID: "a", StreamID: "s", Tracks: avTracks}, want: "Too many inputs"},
		{name: "stream exists", setup: func(h *harness) { h.publish("a", "s", "t0") },
			req: protocol.PublishRequest{ParticipantID: "a", StreamID: "s", Tracks: avTracks}, want: "Stream exists"},
		{name: "no audio in", mutate: func(r *model.Room) { r.MediaIn.Audio = nil },
			req: protocol.PublishRequest{ParticipantID: "a", StreamID: "s", Tracks: avTracks}, want: "Audio is forbiden"},
		{name: "no video in", mutate: func(r *model.Room) { r.MediaIn.Video = nil },
			req: protocol.PublishRequest{ParticipantID: "a", StreamID: "s", Tracks: avTracks}, want: "Video is forbiden"},
		{name: "no tracks", req: protocol.PublishRequest{ParticipantID: "a", StreamID: "s"}, want: "Invalid media tracks"},
		{name: "someone else's transport", setup: func(h *harness) { h.publish("b", "sb", "tb") },
			req:  protocol.PublishRequest{ParticipantID: "a", StreamID: "s", TransportID: "tb", Tracks: avTracks},
			want: "Transport tb does NOT exist"},
		{name: "legacy on an existing transport", setup: func(h *harness) { h.publish("a", "s0", "t0") },
			req:  protocol.PublishRequest{ParticipantID: "a", StreamID: "s", TransportID: "t0", Tracks: avTracks, Legacy: true},
			want: "Transport t0 does NOT exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.mutate)
			h.join("a", "presenter", "p1")
			h.join("b", "presenter", "p1")
			h.join("v", "viewer", "p1")
			h.join("ao", "audio_only_presenter", "p1")
			if tt.setup != nil {
				tt.setup(h)
			}
			_, err := h.r.Publish(context.Background(), tt.req)
			wantErr(t, err, tt.want)
		})
	}
}

func TestRoomPublishFlow(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.join("b", "viewer", "p2")
	h.notes.take()
	res, err := h.r.Publish(context.Background(), protocol.PublishRequest{
		ParticipantID: "a", StreamID: "s1", Tracks: avTracks, Attributes: []byte(`{"k":"v"}`),
	})
	if err != nil || res != (protocol.OperationResult{ID: "s1", TransportID: "s1"}) {
		t.Fatalf("publish = %+v, %v (transport defaults to the stream id)", res, err)
	}
	calls := h.rtc.byMethod(protocol.MethodRTCPublish)
	if len(calls) != 1 || calls[0].agent != testAgent {
		t.Fatalf("rtc.publish calls = %+v", calls)
	}
	pub := calls[0].req.(protocol.RTCPublish)
	if pub.Controller != "conference-1@test" || pub.OperationID != "s1" || pub.Owner != "a" || len(pub.Tracks) != 2 ||
		pub.Tracks[1].Formats[0] != (protocol.Format{Codec: "h264"}) || pub.Tracks[0].Formats[0].Codec != "opus" {
		t.Fatalf("rtc.publish = %+v", pub)
	}

	h.event(protocol.RTCEvent{Type: protocol.RTCEventAnswer, TransportID: "s1", SDP: "v=0"})
	h.event(protocol.RTCEvent{Type: protocol.RTCEventCandidate, TransportID: "s1", Candidate: "a=candidate:1"})
	h.event(protocol.RTCEvent{Type: protocol.RTCEventTrack, TransportID: "s1", Track: &protocol.RTCTrack{
		ID: "s1-1", Mid: "1", Type: "video", Format: protocol.Format{Codec: "vp8"}}})
	h.event(protocol.RTCEvent{Type: protocol.RTCEventComplete, TransportID: "s1", OperationID: "s1"})
	progress := find(h.notes.take(), "a", protocol.EventProgress)
	want := []string{
		`{"id":"s1","status":"soac","data":{"type":"answer","sdp":"v=0"}}`,
		`{"id":"s1","status":"soac","data":{"type":"candidate","candidate":"a=candidate:1"}}`,
	}
	if len(progress) != len(want) {
		t.Fatalf("progress before ready = %+v", progress)
	}
	for i := range want {
		if string(progress[i].data) != want[i] {
			t.Fatalf("progress[%d] = %s, want %s", i, progress[i].data, want[i])
		}
	}
	// Complete before the transport is up: the session is ready only once ICE+DTLS are.
	h.event(protocol.RTCEvent{Type: protocol.RTCEventReady, TransportID: "s1"})
	notes := h.notes.take()
	progress = find(notes, "a", protocol.EventProgress)
	if len(progress) != 2 || string(progress[0].data) != `{"id":"s1","status":"ready"}` ||
		string(progress[1].data) != `{"id":"s1","sessionId":"s1","status":"ready"}` {
		t.Fatalf("ready progress = %+v", progress)
	}
	if len(find(notes, "b", protocol.EventStream)) != 0 {
		t.Fatal("stream add before OWT's 10 ms delay")
	}
	h.flush()
	notes = h.notes.take()
	for _, who := range []string{"a", "b"} {
		adds := find(notes, who, protocol.EventStream)
		if len(adds) != 1 {
			t.Fatalf("%s got %d stream events", who, len(adds))
		}
		got := decodeJSON(t, adds[0].data)
		wantAdd := map[string]any{"id": "s1", "status": "add", "data": map[string]any{
			"id": "s1", "type": "forward",
			"media": map[string]any{"tracks": []any{map[string]any{
				"id": "s1-1", "type": "video", "source": "camera", "format": map[string]any{"codec": "vp8"},
				"optional": map[string]any{}, "status": "active", "mid": "1"}}},
			"info": map[string]any{"owner": "a", "type": "webrtc", "inViews": []any{}, "attributes": map[string]any{"k": "v"}},
		}}
		if !reflect.DeepEqual(got, wantAdd) {
			t.Fatalf("stream add = %s", adds[0].data)
		}
	}
	// A later joiner sees the stream in its login result.
	if res := h.join("c", "viewer", "p1"); len(res.Room.Streams) != 1 || res.Room.Streams[0].ID != "s1" {
		t.Fatalf("join streams = %+v", res.Room.Streams)
	}
}

func TestRoomStreamNoticesGated(t *testing.T) {
	h := newHarness(t, func(r *model.Room) { r.Notifying.StreamChange = false })
	h.join("a", "presenter", "p1")
	h.publish("a", "s1", "t1")
	if err := h.r.Unpublish("a", "s1"); err != nil {
		t.Fatal(err)
	}
	if got := find(h.notes.take(), "a", protocol.EventStream); len(got) != 0 {
		t.Fatalf("stream notices with streamChange off: %+v", got)
	}
}

func TestRoomPublishFailureRollsBack(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.rtc.fail[protocol.MethodRTCPublish] = errs.Cluster("boom")
	_, err := h.r.Publish(context.Background(), protocol.PublishRequest{ParticipantID: "a", StreamID: "s", Tracks: avTracks})
	wantErr(t, err, "boom")
	delete(h.rtc.fail, protocol.MethodRTCPublish)
	if _, err := h.r.Publish(context.Background(), protocol.PublishRequest{ParticipantID: "a", StreamID: "s", Tracks: avTracks}); err != nil {
		t.Fatalf("retry after a failed publish: %v", err)
	}
}

func TestRoomPublishNoAgent(t *testing.T) {
	h := newHarness(t, nil)
	h.r.deps.Scheduler = fakeScheduler{err: errors.New("none")}
	h.join("a", "presenter", "p1")
	_, err := h.r.Publish(context.Background(), protocol.PublishRequest{ParticipantID: "a", StreamID: "s", Tracks: avTracks})
	wantErr(t, err, "No webrtc agent available")
}

func TestRoomUnpublishEndsDependents(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.join("b", "presenter", "p2")
	h.publish("a", "s1", "ta")
	h.subscribe("b", "sub1", "tb", protocol.SubTrack{Type: "video", Mid: "0", From: "s1"})
	h.notes.take()
	wantErr(t, h.r.Unpublish("b", "nope"), "Stream does NOT exist")
	if err := h.r.Unpublish("a", "s1"); err != nil {
		t.Fatal(err)
	}
	notes := h.notes.take()
	if len(find(notes, "a", protocol.EventProgress)) != 0 {
		t.Fatal("the publisher's own unpublish must not report an error")
	}
	errsB := find(notes, "b", protocol.EventProgress)
	if len(errsB) != 1 || string(errsB[0].data) != `{"id":"tb","sessionId":"sub1","status":"error","data":"Source stream loss"}` {
		t.Fatalf("subscriber progress = %+v", errsB)
	}
	for _, who := range []string{"a", "b"} {
		rm := find(notes, who, protocol.EventStream)
		if len(rm) != 1 || string(rm[0].data) != `{"id":"s1","status":"remove"}` {
			t.Fatalf("%s stream events = %+v", who, rm)
		}
	}
	terms := h.rtc.byMethod(protocol.MethodRTCTerminate)
	if len(terms) != 2 {
		t.Fatalf("terminations = %+v", terms)
	}
	wantErr(t, h.r.Unsubscribe("b", "sub1"), "Subscription does NOT exist")
}

func TestRoomLeaveEndsEverything(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.join("b", "presenter", "p2")
	h.publish("a", "s1", "ta")
	h.publish("b", "s2", "tb")
	h.subscribe("a", "sub1", "ta", protocol.SubTrack{Type: "audio", Mid: "2", From: "s2"})
	h.subscribe("b", "sub2", "tb", protocol.SubTrack{Type: "audio", Mid: "2", From: "s1"})
	h.notes.take()
	if err := h.r.Leave("a"); err != nil {
		t.Fatal(err)
	}
	notes := h.notes.take()
	if got := find(notes, "b", protocol.EventProgress); len(got) != 1 ||
		string(got[0].data) != `{"id":"tb","sessionId":"sub2","status":"error","data":"Source stream loss"}` {
		t.Fatalf("b progress = %+v", got)
	}
	if got := find(notes, "b", protocol.EventParticipant); len(got) != 1 || string(got[0].data) != `{"action":"leave","data":"a"}` {
		t.Fatalf("b participant events = %+v", got)
	}
	if len(find(notes, "a", protocol.EventStream)) != 0 {
		t.Fatal("the leaver gets nothing after leaving")
	}
	if d := h.rtc.byMethod(protocol.MethodRTCDestroyTransport); len(d) != 1 || d[0].req.(protocol.RTCOperation).TransportID != "ta" {
		t.Fatalf("destroyed transports = %+v", d)
	}
}

func TestRoomTransportFailure(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.join("b", "presenter", "p2")
	h.publish("a", "s1", "ta")
	h.notes.take()
	h.event(protocol.RTCEvent{Type: protocol.RTCEventFailed, TransportID: "ta", Reason: "ICE failed"})
	notes := h.notes.take()
	if got := find(notes, "a", protocol.EventProgress); len(got) != 1 ||
		string(got[0].data) != `{"id":"ta","sessionId":"s1","status":"error","data":"ICE failed"}` {
		t.Fatalf("a progress = %+v", got)
	}
	if got := find(notes, "b", protocol.EventStream); len(got) != 1 {
		t.Fatalf("b stream events = %+v", got)
	}
	if h.r.HandleRTC(protocol.RTCEvent{Type: protocol.RTCEventReady, TransportID: "ta"}) {
		t.Fatal("a failed transport is forgotten")
	}
}

func TestRoomAgentGone(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.join("b", "presenter", "p2")
	h.publish("a", "s1", "ta")
	h.notes.take()
	h.r.FailAgents(func(string) bool { return true })
	if len(h.notes.take()) != 0 {
		t.Fatal("live agents fail nothing")
	}
	h.r.FailAgents(func(id string) bool { return id != testAgent })
	notes := h.notes.take()
	if got := find(notes, "a", protocol.EventProgress); len(got) != 1 ||
		string(got[0].data) != `{"id":"ta","sessionId":"s1","status":"error","data":"WebRTC agent is gone"}` {
		t.Fatalf("a progress = %+v", got)
	}
	if got := find(notes, "b", protocol.EventStream); len(got) != 1 || string(got[0].data) != `{"id":"s1","status":"remove"}` {
		t.Fatalf("b stream events = %+v", got)
	}
}

func TestRoomOperationError(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", "presenter", "p1")
	if _, err := h.r.Publish(context.Background(), protocol.PublishRequest{ParticipantID: "a", StreamID: "s", Tracks: avTracks}); err != nil {
		t.Fatal(err)
	}
	h.notes.take()
	h.event(protocol.RTCEvent{Type: protocol.RTCEventError, TransportID: "s", OperationID: "s", Reason: "No proper video codec"})
	got := find(h.notes.take(), "a", protocol.EventProgress)
	if len(got) != 1 || string(got[0].data) != `{"id":"s","sessionId":"s","status":"error","data":"No proper video codec"}` {
		t.Fatalf("progress = %+v", got)
	}
}

func TestRoomSignaling(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.join("b", "presenter", "p1")
	h.publish("a", "s1", "ta")
	offer := protocol.Signaling{Type: "offer", SDP: "v=0"}
	ctx := context.Background()
	wantErr(t, h.r.Signaling(ctx, protocol.SignalingRequest{ParticipantID: "a", TransportID: "ta", Signaling: offer}), "")
	wantErr(t, h.r.Signaling(ctx, protocol.SignalingRequest{ParticipantID: "b", TransportID: "ta", Signaling: offer}),
		"Transport ta does NOT exist")
	wantErr(t, h.r.Signaling(ctx, protocol.SignalingRequest{ParticipantID: "a", TransportID: "zz", Signaling: offer}),
		"Transport zz does NOT exist")
	wantErr(t, h.r.Signaling(ctx, protocol.SignalingRequest{ParticipantID: "a", TransportID: "ta",
		Signaling: protocol.Signaling{Type: "bogus"}}), "Invalid signaling type")
	calls := h.rtc.byMethod(protocol.MethodRTCSignaling)
	if len(calls) != 1 || calls[0].agent != testAgent || calls[0].req.(protocol.RTCSignaling).Signaling.SDP != "v=0" {
		t.Fatalf("rtc.signaling = %+v", calls)
	}
}

// The webrtc agent sends a track event again when the picture size of a published track
// changes (a browser ramping up): the track info takes it, the largest simulcast layer is the
// largest one, and participants get the whole stream again (`update` field "."), as OWT does.
func TestRoomTrackSizeUpdates(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.join("b", "viewer", "p2")
	layer := func(rid string, w, ht int) protocol.RTCTrack {
		tr := protocol.RTCTrack{ID: "s1-1:" + rid, Mid: "1", Rid: rid, Type: "video", Format: protocol.Format{Codec: "vp8"}}
		if w > 0 {
			tr.Parameters = &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: w, Height: ht}}
		}
		return tr
	}
	// Sizes unknown when the layers arrive ("h" first): arrival order decides.
	h.publishTracks("a", "s1", "s1", []protocol.RTCTrack{layer("h", 0, 0), layer("q", 0, 0)})
	h.notes.take()
	for _, tr := range []protocol.RTCTrack{layer("q", 320, 240), layer("h", 640, 360), layer("q", 320, 240)} {
		h.event(protocol.RTCEvent{Type: protocol.RTCEventTrack, TransportID: "s1", OperationID: "s1", Track: &tr})
	}
	updates := find(h.notes.take(), "b", protocol.EventStream)
	if len(updates) != 2 { // the repeated size of q changes nothing
		t.Fatalf("%d stream updates, want 2: %+v", len(updates), updates)
	}
	var ev protocol.StreamEvent
	var info protocol.StreamInfo
	ev.Data = &protocol.StreamUpdate{Value: &info}
	if err := json.Unmarshal(updates[1].data, &ev); err != nil || ev.Status != "update" {
		t.Fatalf("update %s: %v", updates[1].data, err)
	}
	if u := ev.Data.(*protocol.StreamUpdate); u.Field != "." || info.ID != "s1" || len(info.Media.Tracks) != 2 {
		t.Fatalf("update %s", updates[1].data)
	}
	for _, tr := range info.Media.Tracks {
		want := map[string]int{"q": 320, "h": 640}[tr.Rid]
		if tr.Parameters == nil || tr.Parameters.Resolution.Width != want {
			t.Fatalf("track %s parameters %+v", tr.Rid, tr.Parameters)
		}
	}
	h.r.mu.Lock()
	_, top, ok := h.r.sourceTrack("video", "s1")
	h.r.mu.Unlock()
	if !ok || top.Rid != "h" {
		t.Fatalf("largest layer %+v", top)
	}
	// Shrinking (CPU adaptation) reorders the layers too.
	tr := layer("h", 160, 90)
	h.event(protocol.RTCEvent{Type: protocol.RTCEventTrack, TransportID: "s1", OperationID: "s1", Track: &tr})
	h.r.mu.Lock()
	_, top, _ = h.r.sourceTrack("video", "s1")
	h.r.mu.Unlock()
	if top.Rid != "q" {
		t.Fatalf("largest layer after a shrink: %+v", top)
	}
}

// TestLayersPausedToPublisher: the webrtc agent's dynacast event reaches the publisher only,
// as `progress` with status `layers` (a status OWT SDKs ignore).
func TestLayersPausedToPublisher(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", "presenter", "portal-1")
	h.join("b", "presenter", "portal-1")
	h.publish("a", "s1", "t1")
	h.notes.take()
	h.event(protocol.RTCEvent{Type: protocol.RTCEventLayers, TransportID: "t1", OperationID: "s1",
		Layers: &protocol.RTCLayers{Mid: "1", Paused: []string{"h", "f"}}})
	notes := h.notes.take()
	got := find(notes, "a", protocol.EventProgress)
	want := `{"id":"t1","sessionId":"s1","status":"layers","data":{"mid":"1","paused":["h","f"]}}`
	if len(got) != 1 || string(got[0].data) != want {
		t.Fatalf("publisher got %+v, want %s", got, want)
	}
	if len(find(notes, "b", protocol.EventProgress)) != 0 {
		t.Fatal("another participant got the publisher's layers")
	}
	// An event naming an operation that is not a publication on that transport is dropped.
	h.event(protocol.RTCEvent{Type: protocol.RTCEventLayers, TransportID: "t1", OperationID: "nope",
		Layers: &protocol.RTCLayers{Mid: "1", Paused: []string{}}})
	if n := h.notes.take(); len(n) != 0 {
		t.Fatalf("notices for an unknown operation: %+v", n)
	}
}
