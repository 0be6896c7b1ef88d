package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// fakeSessionAgent is a recording or streaming agent: it records rec.*/out.*/in.* calls,
// answers starts like a real agent and can report SessionEvents.
type fakeSessionAgent struct {
	id    string
	bus   bus.Bus
	stop  context.CancelFunc
	mu    sync.Mutex
	calls map[string][]json.RawMessage
}

// inTracks are the tracks the fake streaming agent pulls.
var inTracks = []protocol.RTCTrack{
	{ID: "in-0", Type: "audio", Format: protocol.Format{Codec: "aac", SampleRate: 48000, ChannelNum: 2}},
	{ID: "in-1", Type: "video", Format: protocol.Format{Codec: "h264", Profile: "CB"}},
}

func (e *env) sessionAgent(purpose string) *fakeSessionAgent {
	t := e.t
	f := &fakeSessionAgent{id: cluster.NewWorkerID(purpose, "test"), bus: e.bus(), calls: map[string][]json.RawMessage{}}
	if _, err := f.bus.Serve(f.id, func(_ context.Context, req bus.Request) (any, error) {
		f.mu.Lock()
		f.calls[req.Method] = append(f.calls[req.Method], req.Body)
		f.mu.Unlock()
		switch req.Method {
		case protocol.MethodRecStart:
			var s protocol.RecStart
			_ = req.Decode(&s)
			return protocol.SessionStarted{Host: "rec-host", File: "/tmp/" + s.ID + "." + s.Container}, nil
		case protocol.MethodInStart:
			return protocol.InStarted{Tracks: inTracks}, nil
		}
		return protocol.SessionStarted{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	ann := cluster.NewAnnouncer(f.bus, cluster.Worker{ID: f.id, Purpose: purpose, MaxLoad: 1}, 100*time.Millisecond, nil, e.log)
	f.stop = e.run(ann.Run)
	deadline := time.Now().Add(waitFor)
	for !e.reg.Alive(f.id) {
		if time.Now().After(deadline) {
			t.Fatalf("fake %s agent never registered", purpose)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return f
}

// count returns how many times method was called.
func (f *fakeSessionAgent) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls[method])
}

// last waits for n calls of method and decodes the last into v.
func (f *fakeSessionAgent) last(t *testing.T, method string, n int, v any) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		f.mu.Lock()
		calls := f.calls[method]
		f.mu.Unlock()
		if len(calls) >= n {
			if err := json.Unmarshal(calls[len(calls)-1], v); err != nil {
				t.Fatal(err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d× %s", n, method)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// emit reports a session event to the controlling conference agent.
func (f *fakeSessionAgent) emit(t *testing.T, controller string, ev protocol.SessionEvent) {
	t.Helper()
	ev.Agent = f.id
	if err := f.bus.Publish(context.Background(), protocol.SessionTopic(controller), ev); err != nil {
		t.Fatal(err)
	}
}

// publishAV publishes an opus + vp8 stream of owner and waits for its `stream add` at
// watcher (on portal p).
func (e *env) publishAV(c client, a *Agent, owner, id string, p *fakePortal, watcher string) {
	e.t.Helper()
	c.must(protocol.MethodPublish, protocol.PublishRequest{RoomID: e.roomID, ParticipantID: owner, StreamID: id,
		Tracks: []protocol.PubTrack{{Type: "audio", Mid: "0", Source: "mic"}, {Type: "video", Mid: "1", Source: "camera"}}}, nil)
	e.rtc.emit(e.t, a.ID(), protocol.RTCEvent{Type: protocol.RTCEventReady, TransportID: id})
	e.rtc.emit(e.t, a.ID(), protocol.RTCEvent{Type: protocol.RTCEventTrack, TransportID: id,
		Track: &protocol.RTCTrack{ID: id + "-0", Mid: "0", Type: "audio", Format: protocol.Format{Codec: "opus", SampleRate: 48000, ChannelNum: 2}}})
	e.rtc.emit(e.t, a.ID(), protocol.RTCEvent{Type: protocol.RTCEventTrack, TransportID: id,
		Track: &protocol.RTCTrack{ID: id + "-1", Mid: "1", Type: "video", Format: protocol.Format{Codec: "vp8"}}})
	e.rtc.emit(e.t, a.ID(), protocol.RTCEvent{Type: protocol.RTCEventComplete, TransportID: id, OperationID: id})
	p.wait(e.t, watcher, protocol.EventStream, "")
}

// sessionList lists recordings or streaming-outs, waiting until check accepts the list.
func sessionList(t *testing.T, c client, method string, check func([]map[string]any) bool) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		var list []map[string]any
		c.must(method, protocol.RoomRequest{RoomID: c.roomID}, &list)
		if check(list) {
			return list
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %+v", method, list)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func withStatus(n int, status string) func([]map[string]any) bool {
	return func(l []map[string]any) bool { return len(l) == n && (n == 0 || l[n-1]["status"] == status) }
}

func wantCode(t *testing.T, err error, status, code int, msg string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Status != status || e.Code != code || (msg != "" && e.Message != msg) {
		t.Fatalf("error = %v, want %d/%d %q", err, status, code, msg)
	}
}

func TestAgentRecordings(t *testing.T) {
	e := newEnv(t, nil)
	a, _ := e.startAgent()
	c := client{t: t, bus: e.bus(), agent: a.ID(), roomID: e.roomID}
	rec := e.sessionAgent(cluster.PurposeRecording)
	p1 := e.portal("portal-1")
	e.join(c, "alice", "presenter", "portal-1")
	e.join(c, "bob", "presenter", "portal-1")
	e.publishAV(c, a, "alice", "s1", p1, "bob")
	e.publishAV(c, a, "bob", "s2", p1, "alice")

	add := func(container, from string) protocol.AddRequest[protocol.Recording] {
		return protocol.AddRequest[protocol.Recording]{RoomID: e.roomID, Spec: protocol.Recording{Container: container,
			Media: protocol.OutMedia{Audio: &protocol.OutAudio{From: from}, Video: &protocol.OutVideo{From: from}}}}
	}
	wantCode(t, c.call(protocol.MethodRecordingsAdd, add("mp4", "s1"), nil), http.StatusBadRequest, errs.CodeBadRequest, "")
	wantCode(t, c.call(protocol.MethodRecordingsAdd, add("auto", "zz"), nil), http.StatusNotFound, errs.CodeStreamNotFound, "Stream not found")
	var got map[string]any
	c.must(protocol.MethodRecordingsAdd, add("auto", "s1"), &got)
	var start protocol.RecStart
	rec.last(t, protocol.MethodRecStart, 1, &start)
	id := got["id"].(string)
	if start.ID != id || start.Container != "mkv" || start.Controller != a.ID() ||
		start.Video.Source != (protocol.TrackRef{Agent: e.rtc.id, TrackID: "s1-1"}) {
		t.Fatalf("rec.start = %+v", start)
	}
	if got["storage"].(map[string]any)["file"] != "/tmp/"+id+".mkv" {
		t.Fatalf("recording = %+v", got)
	}
	sessionList(t, c, protocol.MethodRecordingsList, withStatus(1, "active"))

	// PATCH the audio source.
	c.must(protocol.MethodRecordingsUpdate, protocol.ItemUpdate{RoomID: e.roomID, ID: id, Ops: []protocol.PatchOp{
		{Op: "replace", Path: "/media/audio/from", Value: json.RawMessage(`"s2"`)}}}, &got)
	var upd protocol.SessionUpdate
	rec.last(t, protocol.MethodRecUpdate, 1, &upd)
	if upd.ID != id || upd.Audio == nil || upd.Audio.Source.TrackID != "s2-0" || upd.Video != nil {
		t.Fatalf("rec.update = %+v", upd)
	}
	err := c.call(protocol.MethodRecordingsUpdate, protocol.ItemUpdate{RoomID: e.roomID, ID: id, Ops: []protocol.PatchOp{
		{Op: "replace", Path: "/media/video/parameters/framerate", Value: json.RawMessage(`15`)}}}, nil)
	wantCode(t, err, http.StatusBadRequest, errs.CodeBadRequest, "Framerate is not acceptable")

	// The agent reports a failure: the recording stays listed with it.
	rec.emit(t, a.ID(), protocol.SessionEvent{ID: id, Type: protocol.SessionEventFailed, Reason: "disk full"})
	sessionList(t, c, protocol.MethodRecordingsList, withStatus(1, "error: disk full"))
	c.must(protocol.MethodRecordingsDelete, protocol.ItemRequest{RoomID: e.roomID, ID: id}, nil)
	sessionList(t, c, protocol.MethodRecordingsList, withStatus(0, ""))
	wantCode(t, c.call(protocol.MethodRecordingsDelete, protocol.ItemRequest{RoomID: e.roomID, ID: id}, nil),
		http.StatusNotFound, errs.CodeStreamNotFound, "")

	// Delete of a running recording stops it; unpublishing a source stops another.
	c.must(protocol.MethodRecordingsAdd, add("", "s1"), &got)
	c.must(protocol.MethodRecordingsDelete, protocol.ItemRequest{RoomID: e.roomID, ID: got["id"].(string)}, nil)
	var stop protocol.SessionStop
	rec.last(t, protocol.MethodRecStop, 1, &stop)
	if stop.ID != got["id"] {
		t.Fatalf("rec.stop = %+v", stop)
	}
	c.must(protocol.MethodRecordingsAdd, add("", "s1"), &got)
	c.must(protocol.MethodUnpublish, protocol.OperationRequest{RoomID: e.roomID, ParticipantID: "alice", ID: "s1"}, nil)
	rec.last(t, protocol.MethodRecStop, 2, &stop)
	if stop.ID != got["id"] {
		t.Fatalf("rec.stop after source loss = %+v", stop)
	}
	sessionList(t, c, protocol.MethodRecordingsList, withStatus(1, "error: Source stream loss"))

	// The recording agent dies: its recordings fail.
	c.must(protocol.MethodRecordingsAdd, add("", "s2"), &got)
	rec.stop()
	sessionList(t, c, protocol.MethodRecordingsList, withStatus(2, "error: Session agent is gone"))
	err = c.call(protocol.MethodRecordingsAdd, add("", "s2"), nil)
	wantCode(t, err, http.StatusInternalServerError, errs.CodeCluster, "No recording agent available")
}

func TestAgentStreamingOuts(t *testing.T) {
	e := newEnv(t, nil)
	a, _ := e.startAgent()
	c := client{t: t, bus: e.bus(), agent: a.ID(), roomID: e.roomID}
	out := e.sessionAgent(cluster.PurposeStreaming)
	p1 := e.portal("portal-1")
	e.join(c, "alice", "presenter", "portal-1")
	e.join(c, "bob", "presenter", "portal-1")
	e.publishAV(c, a, "alice", "s1", p1, "bob")
	req := protocol.AddRequest[protocol.StreamingOut]{RoomID: e.roomID, Spec: protocol.StreamingOut{
		Protocol: "rtmp", URL: "rtmp://127.0.0.1/live/a",
		Media: protocol.OutMedia{Audio: &protocol.OutAudio{From: "s1"}, Video: &protocol.OutVideo{From: "s1"}}}}
	var got map[string]any
	c.must(protocol.MethodStreamingOutsAdd, req, &got)
	var start protocol.OutStart
	out.last(t, protocol.MethodOutStart, 1, &start)
	if start.URL != "rtmp://127.0.0.1/live/a" || start.Protocol != "rtmp" || start.Audio.Format.Codec != "opus" ||
		start.Audio.Source != (protocol.TrackRef{Agent: e.rtc.id, TrackID: "s1-0"}) {
		t.Fatalf("out.start = %+v", start)
	}
	if got["url"] != "rtmp://127.0.0.1/live/a" || got["media"].(map[string]any)["video"].(map[string]any)["format"].(map[string]any)["codec"] != "h264" {
		t.Fatalf("streaming-out = %+v", got)
	}
	list := sessionList(t, c, protocol.MethodStreamingOutsList, withStatus(1, "active"))
	if list[0]["id"] != got["id"] {
		t.Fatalf("list = %+v", list)
	}
	out.emit(t, a.ID(), protocol.SessionEvent{ID: got["id"].(string), Type: protocol.SessionEventStatus, Reason: "connection lost"})
	sessionList(t, c, protocol.MethodStreamingOutsList, withStatus(1, "retrying: connection lost"))
	c.must(protocol.MethodStreamingOutsDelete, protocol.ItemRequest{RoomID: e.roomID, ID: got["id"].(string)}, nil)
	var stop protocol.SessionStop
	out.last(t, protocol.MethodOutStop, 1, &stop)
	sessionList(t, c, protocol.MethodStreamingOutsList, withStatus(0, ""))

	// Source loss through the publisher leaving.
	c.must(protocol.MethodStreamingOutsAdd, req, &got)
	c.must(protocol.MethodLeave, protocol.ParticipantRequest{RoomID: e.roomID, ParticipantID: "alice"}, nil)
	out.last(t, protocol.MethodOutStop, 2, &stop)
	if stop.ID != got["id"] {
		t.Fatalf("out.stop = %+v", stop)
	}
}

func TestAgentStreamingIn(t *testing.T) {
	e := newEnv(t, nil)
	a, _ := e.startAgent()
	c := client{t: t, bus: e.bus(), agent: a.ID(), roomID: e.roomID}
	in := e.sessionAgent(cluster.PurposeStreaming)
	req := protocol.AddRequest[protocol.StreamingIn]{RoomID: e.roomID, Spec: protocol.StreamingIn{
		Connection: protocol.StreamingInConnection{URL: "rtsp://127.0.0.1:8554/cam", TransportProtocol: "tcp"},
		Media:      protocol.StreamingInMedia{Audio: protocol.TrackAuto, Video: protocol.TrackAuto}}}

	// The room is not live: the add makes it live here.
	var first map[string]any
	c.must(protocol.MethodStreamingInsAdd, req, &first)
	if l, err := e.store.GetLease(context.Background(), protocol.LeaseName(e.roomID)); err != nil || l.Owner != a.ID() {
		t.Fatalf("lease = %+v, %v", l, err)
	}
	if first["info"].(map[string]any)["type"] != "streaming" || first["info"].(map[string]any)["owner"] != "admin" {
		t.Fatalf("stream = %+v", first)
	}
	p1 := e.portal("portal-1")
	res := e.join(c, "bob", "presenter", "portal-1")
	if len(res.Room.Streams) != 1 || res.Room.Streams[0].Media.Tracks[0].ID != "" {
		t.Fatalf("join streams = %+v", res.Room.Streams)
	}

	// A second streaming-in is announced; bob subscribes to it through the streaming agent.
	var second map[string]any
	c.must(protocol.MethodStreamingInsAdd, req, &second)
	id := second["id"].(string)
	p1.wait(t, "bob", protocol.EventStream, "")
	c.must(protocol.MethodSubscribe, protocol.SubscribeRequest{RoomID: e.roomID, ParticipantID: "bob", SubscriptionID: "sub1",
		Tracks: []protocol.SubTrack{{Type: "video", Mid: "0", From: id}}}, nil)
	var sub protocol.RTCSubscribe
	e.rtc.last(t, protocol.MethodRTCSubscribe, 1, &sub)
	if sub.Tracks[0].Source != (protocol.TrackRef{Agent: in.id, TrackID: "in-1"}) {
		t.Fatalf("rtc.subscribe = %+v", sub)
	}
	e.rtc.emit(t, a.ID(), protocol.RTCEvent{Type: protocol.RTCEventReady, TransportID: "sub1"})
	e.rtc.emit(t, a.ID(), protocol.RTCEvent{Type: protocol.RTCEventComplete, TransportID: "sub1", OperationID: "sub1"})
	p1.wait(t, "bob", protocol.EventProgress, `{"id":"sub1","sessionId":"sub1","status":"ready"}`)

	c.must(protocol.MethodStreamingInsDelete, protocol.ItemRequest{RoomID: e.roomID, ID: id}, nil)
	var stop protocol.SessionStop
	in.last(t, protocol.MethodInStop, 1, &stop)
	if stop.ID != id {
		t.Fatalf("in.stop = %+v", stop)
	}
	p1.wait(t, "bob", protocol.EventProgress, `{"id":"sub1","sessionId":"sub1","status":"error","data":"Source stream loss"}`)
	p1.wait(t, "bob", protocol.EventStream, `{"id":"`+id+`","status":"remove"}`)

	// The first one fails on the agent.
	in.emit(t, a.ID(), protocol.SessionEvent{ID: first["id"].(string), Type: protocol.SessionEventFailed, Reason: "EOF"})
	p1.wait(t, "bob", protocol.EventStream, `{"id":"`+first["id"].(string)+`","status":"remove"}`)
	wantCode(t, c.call(protocol.MethodStreamingInsDelete, protocol.ItemRequest{RoomID: e.roomID, ID: id}, nil),
		http.StatusNotFound, errs.CodeStreamNotFound, "")

	// room.destroy stops every streaming-in.
	c.must(protocol.MethodStreamingInsAdd, req, &first)
	c.must(protocol.MethodRoomDestroy, protocol.RoomRequest{RoomID: e.roomID}, nil)
	in.last(t, protocol.MethodInStop, 2, &stop)
	if stop.ID != first["id"] {
		t.Fatalf("in.stop on destroy = %+v", stop)
	}
}
