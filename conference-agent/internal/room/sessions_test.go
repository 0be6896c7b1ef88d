package room

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	model "github.com/conclave-rtc/conclave/common/room"
)

// sessionHarness is a room with participant a publishing s1 (opus + vp8) and s2 (aac + h264).
func sessionHarness(t *testing.T, mutate func(*model.Room)) *harness {
	h := newHarness(t, mutate)
	h.join("a", "presenter", "p1")
	h.publish("a", "s1", "t1")
	h.publishTracks("a", "s2", "t2", []protocol.RTCTrack{
		{ID: "t2-0", Mid: "0", Type: "audio", Format: protocol.Format{Codec: "aac", SampleRate: 48000, ChannelNum: 2}},
		{ID: "t2-1", Mid: "1", Type: "video", Format: protocol.Format{Codec: "h264", Profile: "CB"}},
	})
	h.notes.take()
	return h
}

func recording(container, audioFrom, videoFrom string) protocol.Recording {
	spec := protocol.Recording{Container: container}
	if audioFrom != "" {
		spec.Media.Audio = &protocol.OutAudio{From: audioFrom}
	}
	if videoFrom != "" {
		spec.Media.Video = &protocol.OutVideo{From: videoFrom}
	}
	return spec
}

func TestRoomRecordingAdd(t *testing.T) {
	tests := []struct {
		name      string
		spec      protocol.Recording
		container string
		err       string
		status    int
	}{
		{"auto opus vp8", recording("auto", "s1", "s1"), "mkv", "", 0},
		{"auto aac h264", recording("auto", "s2", "s2"), "mp4", "", 0},
		{"explicit mp4 opus", recording("mp4", "s1", ""), "", msgContainerMP4, 400},
		{"ts", recording("ts", "s2", "s2"), "", msgContainerTS, 400},
		{"unknown stream", recording("auto", "nope", ""), "", "Stream not found", 404},
		{"transcoding", protocol.Recording{Container: "auto", Media: protocol.OutMedia{
			Audio: &protocol.OutAudio{From: "s1", Format: &protocol.AudioFormat{Codec: "pcmu"}}}}, "", msgFormatNotOK, 400},
		{"opus as aac in mp4", protocol.Recording{Container: "auto", Media: protocol.OutMedia{
			Audio: &protocol.OutAudio{From: "s1", Format: &protocol.AudioFormat{Codec: "aac"}}}}, "mp4", "", 0},
		{"opus as aac not in mkv", protocol.Recording{Container: "mkv", Media: protocol.OutMedia{
			Audio: &protocol.OutAudio{From: "s1", Format: &protocol.AudioFormat{Codec: "aac"}}}}, "", msgConvertedAudioMP4, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := sessionHarness(t, nil)
			raw, err := h.r.AddRecording(context.Background(), tt.spec)
			wantErr(t, err, tt.err)
			if err != nil {
				var e *errs.Error
				if errors.As(err, &e); e.Status != tt.status {
					t.Fatalf("status = %d, want %d", e.Status, tt.status)
				}
				if len(h.sess.byMethod(protocol.MethodRecStart)) != 0 {
					t.Fatal("a refused recording reached an agent")
				}
				return
			}
			start := h.sess.byMethod(protocol.MethodRecStart)[0].req.(protocol.RecStart)
			if start.Container != tt.container || start.Controller != "conference-1@test" || start.RoomID != "room1" {
				t.Fatalf("rec.start = %+v", start)
			}
			m := decodeJSON(t, raw)
			storage := m["storage"].(map[string]any)
			if m["id"] != start.ID || storage["host"] != "rec-host" || storage["file"] != "/tmp/"+start.ID+"."+tt.container ||
				m["status"] != "active" {
				t.Fatalf("recording = %s", raw)
			}
		})
	}
}

func TestRoomRecordingLifecycle(t *testing.T) {
	h := sessionHarness(t, nil)
	h.publish("a", "s3", "t3") // another opus + vp8 stream
	raw, err := h.r.AddRecording(context.Background(), recording("auto", "s1", "s1"))
	if err != nil {
		t.Fatal(err)
	}
	id := decodeJSON(t, raw)["id"].(string)
	start := h.sess.byMethod(protocol.MethodRecStart)[0]
	rs := start.req.(protocol.RecStart)
	if start.agent != recAgent || rs.Audio.Source != (protocol.TrackRef{Agent: testAgent, TrackID: "t1-0"}) ||
		rs.Video.Source.TrackID != "t1-1" || rs.Video.Format.Codec != "vp8" {
		t.Fatalf("rec.start = %+v", start)
	}
	if !numeric(id) {
		t.Fatalf("id %q is not numeric", id)
	}
	list, _ := h.r.Sessions(SessionRecording)
	if len(list) != 1 || string(list[0]) != string(raw) {
		t.Fatalf("list = %s", list)
	}
	if other, _ := h.r.Sessions(SessionStreaming); len(other) != 0 {
		t.Fatalf("streaming list = %s", other)
	}

	// PATCH: switch the video source; parameters only as they are.
	out, err := h.r.UpdateSession(context.Background(), SessionRecording, id, []protocol.PatchOp{
		op("replace", "/media/video/from", `"s3"`), op("replace", "/media/video/parameters/framerate", `30`)})
	if err != nil || decodeJSON(t, out)["media"].(map[string]any)["video"].(map[string]any)["from"] != "s3" {
		t.Fatalf("update = %s, %v", out, err)
	}
	upd := h.sess.byMethod(protocol.MethodRecUpdate)
	if len(upd) != 1 || upd[0].req.(protocol.SessionUpdate).Video.Source.TrackID != "t3-1" || upd[0].req.(protocol.SessionUpdate).Audio != nil {
		t.Fatalf("rec.update = %+v", upd)
	}
	_, err = h.r.UpdateSession(context.Background(), SessionRecording, id, []protocol.PatchOp{op("replace", "/media/video/from", `"s2"`)})
	wantErr(t, err, msgFormatNotOK) // h264 into a vp8 recording
	_, err = h.r.UpdateSession(context.Background(), SessionRecording, id, []protocol.PatchOp{op("replace", "/media/video/parameters/bitrate", `"x0.8"`)})
	wantErr(t, err, msgBitrateNotOK)
	_, err = h.r.UpdateSession(context.Background(), SessionRecording, id, []protocol.PatchOp{op("replace", "/media/audio/from", `"zz"`)})
	wantErr(t, err, "Stream not found")
	_, err = h.r.UpdateSession(context.Background(), SessionRecording, "nope", nil)
	wantErr(t, err, "Stream not found")
	if len(h.sess.byMethod(protocol.MethodRecUpdate)) != 1 {
		t.Fatal("a refused update reached the agent")
	}

	// The old video source going away no longer matters; the audio source does.
	if err := h.r.Unpublish("a", "s3"); err != nil {
		t.Fatal(err)
	}
	if len(h.sess.byMethod(protocol.MethodRecStop)) != 1 {
		t.Fatal("losing the video source did not stop the recording")
	}
	list, _ = h.r.Sessions(SessionRecording)
	if len(list) != 1 || decodeJSON(t, list[0])["status"] != "error: "+msgSourceLoss {
		t.Fatalf("list after loss = %s", list)
	}
	_, err = h.r.UpdateSession(context.Background(), SessionRecording, id, []protocol.PatchOp{op("replace", "/media/audio/from", `"s1"`)})
	wantErr(t, err, msgSessionNotActive)
	h.advance(59 * time.Second)
	h.r.ExpireSessions(time.Minute)
	if list, _ = h.r.Sessions(SessionRecording); len(list) != 1 {
		t.Fatal("failed recording expired early")
	}
	h.advance(time.Second)
	h.r.ExpireSessions(time.Minute)
	if list, _ = h.r.Sessions(SessionRecording); len(list) != 0 {
		t.Fatalf("failed recording kept: %s", list)
	}
}

// Session agents chosen by the fake scheduler.
const (
	recAgent = "recording-0000@test"
	outAgent = "streaming-0000@test"
)

func numeric(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func TestRoomSessionEventsAndDelete(t *testing.T) {
	h := sessionHarness(t, nil)
	raw, err := h.r.AddStreamingOut(context.Background(), protocol.StreamingOut{Protocol: "rtmp", URL: "rtmp://127.0.0.1/live/x",
		Media: protocol.OutMedia{Audio: &protocol.OutAudio{From: "s1"}, Video: &protocol.OutVideo{From: "s1"}}})
	if err != nil {
		t.Fatal(err)
	}
	m := decodeJSON(t, raw)
	media := m["media"].(map[string]any)
	if m["url"] != "rtmp://127.0.0.1/live/x" || m["protocol"] != "rtmp" ||
		media["audio"].(map[string]any)["format"].(map[string]any)["codec"] != "aac" ||
		media["video"].(map[string]any)["format"].(map[string]any)["codec"] != "h264" {
		t.Fatalf("streaming-out = %s", raw)
	}
	id := m["id"].(string)
	os := h.sess.byMethod(protocol.MethodOutStart)[0].req.(protocol.OutStart)
	if os.Audio.Format.Codec != "opus" || os.Video.Format.Codec != "vp8" || os.URL != "rtmp://127.0.0.1/live/x" {
		t.Fatalf("out.start carries the source formats: %+v", os)
	}
	ev := protocol.SessionEvent{Agent: outAgent, ID: id, Type: protocol.SessionEventStatus, Reason: "reconnecting"}
	if !h.r.HandleSession(ev) {
		t.Fatal("event for a known session refused")
	}
	list, _ := h.r.Sessions(SessionStreaming)
	if decodeJSON(t, list[0])["status"] != "retrying: reconnecting" {
		t.Fatalf("list = %s", list)
	}
	h.r.HandleSession(protocol.SessionEvent{Agent: "someone-else", ID: id, Type: protocol.SessionEventFailed, Reason: "x"})
	ev.Type, ev.Reason = protocol.SessionEventFailed, "No a/v frames"
	h.r.HandleSession(ev)
	list, _ = h.r.Sessions(SessionStreaming)
	if decodeJSON(t, list[0])["status"] != "error: No a/v frames" {
		t.Fatalf("list = %s", list)
	}
	if len(h.sess.byMethod(protocol.MethodOutStop)) != 0 {
		t.Fatal("a failed session is stopped again")
	}
	if err := h.r.DeleteSession(context.Background(), SessionStreaming, id); err != nil {
		t.Fatal(err)
	}
	wantErr(t, h.r.DeleteSession(context.Background(), SessionStreaming, id), "Stream not found")
	if h.r.HandleSession(protocol.SessionEvent{ID: "unknown", Type: protocol.SessionEventFailed}) {
		t.Fatal("unknown session accepted")
	}

	// Agent death fails a running session; delete then stops nothing.
	raw, _ = h.r.AddRecording(context.Background(), recording("", "s2", ""))
	id = decodeJSON(t, raw)["id"].(string)
	h.r.FailAgents(func(a string) bool { return a != recAgent })
	list, _ = h.r.Sessions(SessionRecording)
	if len(list) != 1 || decodeJSON(t, list[0])["status"] != "error: "+msgSessionAgentLost {
		t.Fatalf("list = %s", list)
	}
	if err := h.r.DeleteSession(context.Background(), SessionRecording, id); err != nil || len(h.sess.byMethod(protocol.MethodRecStop)) != 0 {
		t.Fatalf("delete of a failed recording: %v, %+v", err, h.sess.byMethod(protocol.MethodRecStop))
	}
}

func TestRoomSessionStartFailures(t *testing.T) {
	h := sessionHarness(t, func(c *model.Room) { c.MediaOut.Audio = nil })
	_, err := h.r.AddRecording(context.Background(), recording("", "s1", ""))
	wantErr(t, err, msgAudioForbidden)
	h.sess.fail[protocol.MethodRecStart] = errs.Cluster("disk full")
	_, err = h.r.AddRecording(context.Background(), recording("", "", "s1"))
	wantErr(t, err, "disk full")
	wantStatus(t, err, 500, 1201)
	if stops := h.sess.byMethod(protocol.MethodRecStop); len(stops) != 1 {
		t.Fatalf("failed start not cleaned up: %+v", stops)
	}
	delete(h.sess.fail, protocol.MethodRecStart)
	// The source goes away while the agent starts: the add fails and the agent is stopped.
	h.sess.hook = func() { _ = h.r.Unpublish("a", "s1") }
	_, err = h.r.AddRecording(context.Background(), recording("", "", "s1"))
	wantErr(t, err, msgSourceLoss)
	if stops := h.sess.byMethod(protocol.MethodRecStop); len(stops) != 3 { // loss + confirm
		t.Fatalf("stops = %+v", stops)
	}
	if list, _ := h.r.Sessions(SessionRecording); len(list) != 0 {
		t.Fatalf("list = %s", list)
	}
	h.sess.hook = nil
}

func TestRoomSessionsKeepRoomUntilDestroyed(t *testing.T) {
	h := newHarness(t, nil)
	raw, err := h.r.AddStreamingIn(context.Background(), protocol.StreamingIn{
		Connection: protocol.StreamingInConnection{URL: "rtsp://127.0.0.1/x"},
		Media:      protocol.StreamingInMedia{Audio: "auto", Video: "auto"}})
	if err != nil {
		t.Fatal(err)
	}
	in := decodeJSON(t, raw)["id"].(string)
	if _, err := h.r.AddRecording(context.Background(), recording("", in, in)); err != nil {
		t.Fatal(err)
	}
	if h.r.idleNow() || h.r.CloseIfIdle() {
		t.Fatal("a room with sessions is idle")
	}
	h.r.DropAll()
	if len(h.sess.byMethod(protocol.MethodRecStop)) != 1 || len(h.sess.byMethod(protocol.MethodInStop)) != 1 {
		t.Fatalf("calls = %+v", h.sess.calls)
	}
	_, err = h.r.Sessions(SessionRecording)
	wantErr(t, err, protocol.ErrNotOwner)
}

func TestRoomStreamingIn(t *testing.T) {
	h := newHarness(t, nil)
	h.join("b", "presenter", "p1")
	h.notes.take()
	origin := protocol.StreamingInConnection{URL: "rtsp://127.0.0.1/cam", TransportProtocol: "tcp"}
	raw, err := h.r.AddStreamingIn(context.Background(), protocol.StreamingIn{Connection: origin,
		Media: protocol.StreamingInMedia{Audio: "auto", Video: "yes"}, Attributes: json.RawMessage(`{"k":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	m := decodeJSON(t, raw)
	id := m["id"].(string)
	info := m["info"].(map[string]any)
	if info["type"] != "streaming" || info["owner"] != "admin" || m["media"].(map[string]any)["audio"].(map[string]any)["format"].(map[string]any)["codec"] != "aac" {
		t.Fatalf("stream = %s", raw)
	}
	start := h.sess.byMethod(protocol.MethodInStart)[0].req.(protocol.InStart)
	if start.ID != id || start.URL != origin.URL || start.Audio != "auto" || start.Video != "yes" {
		t.Fatalf("in.start = %+v", start)
	}
	adds := find(h.notes.take(), "b", protocol.EventStream)
	if len(adds) != 1 {
		t.Fatalf("stream add = %+v", adds)
	}
	var add protocol.StreamEvent
	var si protocol.StreamInfo
	_ = json.Unmarshal(adds[0].data, &add)
	b, _ := json.Marshal(add.Data)
	_ = json.Unmarshal(b, &si)
	if add.Status != "add" || si.ID != id || len(si.Media.Tracks) != 2 || si.Media.Tracks[0].ID != "" || si.Media.Tracks[1].Source != "streaming" {
		t.Fatalf("stream add = %s", adds[0].data)
	}
	// A WebRTC subscriber's source is the streaming agent's track.
	h.subscribe("b", "sub1", "tb", protocol.SubTrack{Type: "video", Mid: "0", From: id})
	sub := h.rtc.byMethod(protocol.MethodRTCSubscribe)[0].req.(protocol.RTCSubscribe)
	if sub.Tracks[0].Source != (protocol.TrackRef{Agent: outAgent, TrackID: "in-v"}) {
		t.Fatalf("rtc.subscribe = %+v", sub)
	}
	// The agent reports a failure: stream remove, the subscription ends.
	h.notes.take()
	h.r.HandleSession(protocol.SessionEvent{Agent: outAgent, ID: id, Type: protocol.SessionEventFailed, Reason: "EOF"})
	notes := h.notes.take()
	if len(find(notes, "b", protocol.EventStream)) != 1 || len(find(notes, "b", protocol.EventProgress)) != 1 {
		t.Fatalf("notices = %+v", notes)
	}
	wantErr(t, h.r.DeleteStreamingIn(id), "Stream not found")

	// Delete stops the agent.
	raw, _ = h.r.AddStreamingIn(context.Background(), protocol.StreamingIn{Connection: origin,
		Media: protocol.StreamingInMedia{Audio: "auto", Video: "auto"}})
	id = decodeJSON(t, raw)["id"].(string)
	h.notes.take()
	if err := h.r.DeleteStreamingIn(id); err != nil {
		t.Fatal(err)
	}
	if stops := h.sess.byMethod(protocol.MethodInStop); len(stops) != 1 || stops[0].req.(protocol.SessionStop).ID != id {
		t.Fatalf("in.stop = %+v", stops)
	}
	if len(find(h.notes.take(), "b", protocol.EventStream)) != 1 {
		t.Fatal("no stream remove")
	}
}

func TestRoomStreamingInChecks(t *testing.T) {
	h := newHarness(t, func(c *model.Room) { c.MediaIn.Audio = nil })
	in := protocol.StreamingIn{Connection: protocol.StreamingInConnection{URL: "rtsp://127.0.0.1/x"},
		Media: protocol.StreamingInMedia{Audio: "yes", Video: "auto"}}
	_, err := h.r.AddStreamingIn(context.Background(), in)
	wantErr(t, err, msgAudioForbidden)
	in.Media.Audio = "auto" // becomes "no", but the agent still reports audio: refused
	_, err = h.r.AddStreamingIn(context.Background(), in)
	wantErr(t, err, msgAudioUnacceptable)
	if start := h.sess.byMethod(protocol.MethodInStart)[0].req.(protocol.InStart); start.Audio != "no" {
		t.Fatalf("in.start = %+v", start)
	}
	if len(h.sess.byMethod(protocol.MethodInStop)) != 1 {
		t.Fatal("refused streaming-in not stopped")
	}
	h.sess.fail[protocol.MethodInStart] = errs.Cluster("Connection refused")
	_, err = h.r.AddStreamingIn(context.Background(), in)
	wantErr(t, err, "Connection refused")
	if streams, _ := h.r.Streams(); len(streams) != 0 || !h.r.idleNow() {
		t.Fatalf("streams = %s", streams)
	}
}
