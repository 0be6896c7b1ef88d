package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/store"
)

// client makes the portal's and the management API's RPCs to one agent.
type client struct {
	t      *testing.T
	bus    bus.Bus
	agent  string
	roomID string // for RoomRequest helpers
}

func (c client) call(method string, req, resp any) error {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	return c.bus.Call(ctx, c.agent, method, req, resp)
}

func (c client) must(method string, req, resp any) {
	c.t.Helper()
	if err := c.call(method, req, resp); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
}

func (e *env) join(c client, id, role, portal string) protocol.JoinResult {
	e.t.Helper()
	var res protocol.JoinResult
	c.must(protocol.MethodJoin, protocol.JoinRequest{RoomID: e.roomID,
		Participant: protocol.Joiner{ID: id, User: "u" + id, Role: role, Portal: portal, Protocol: "1.2"}}, &res)
	return res
}

func TestAgentRoomLifecycle(t *testing.T) {
	e := newEnv(t, nil)
	a, _ := e.startAgent()
	c := client{t: t, bus: e.bus(), agent: a.ID()}
	p1, p2 := e.portal("portal-1"), e.portal("portal-2")
	room := e.roomID

	e.join(c, "alice", "presenter", "portal-1")
	if l, err := e.store.GetLease(context.Background(), protocol.LeaseName(room)); err != nil || l.Owner != a.ID() {
		t.Fatalf("lease = %+v, %v", l, err)
	}
	res := e.join(c, "bob", "presenter", "portal-2")
	if len(res.Room.Participants) != 2 || res.Room.ID != room {
		t.Fatalf("join result = %+v", res)
	}
	p1.wait(t, "alice", protocol.EventParticipant, `{"action":"join","data":{"id":"bob","user":"ubob","role":"presenter"}}`)

	// alice publishes.
	var op protocol.OperationResult
	c.must(protocol.MethodPublish, protocol.PublishRequest{RoomID: room, ParticipantID: "alice", StreamID: "s1",
		Tracks: []protocol.PubTrack{{Type: "video", Mid: "0", Source: "camera"}}}, &op)
	if op.ID != "s1" || op.TransportID != "s1" {
		t.Fatalf("publish = %+v", op)
	}
	var pub protocol.RTCPublish
	e.rtc.last(t, protocol.MethodRTCPublish, 1, &pub)
	if pub.Controller != a.ID() || pub.RoomID != room || pub.TransportID != "s1" {
		t.Fatalf("rtc.publish = %+v", pub)
	}
	c.must(protocol.MethodSignaling, protocol.SignalingRequest{RoomID: room, ParticipantID: "alice", TransportID: "s1",
		Signaling: protocol.Signaling{Type: "offer", SDP: "offer-sdp"}}, nil)
	var sig protocol.RTCSignaling
	e.rtc.last(t, protocol.MethodRTCSignaling, 1, &sig)
	if sig.Signaling.SDP != "offer-sdp" {
		t.Fatalf("rtc.signaling = %+v", sig)
	}
	e.rtc.emit(t, a.ID(), protocol.RTCEvent{Type: protocol.RTCEventAnswer, TransportID: "s1", SDP: "answer-sdp"})
	p1.wait(t, "alice", protocol.EventProgress, `{"id":"s1","status":"soac","data":{"type":"answer","sdp":"answer-sdp"}}`)
	e.rtc.emit(t, a.ID(), protocol.RTCEvent{Type: protocol.RTCEventReady, TransportID: "s1"})
	e.rtc.emit(t, a.ID(), protocol.RTCEvent{Type: protocol.RTCEventTrack, TransportID: "s1", OperationID: "s1",
		Track: &protocol.RTCTrack{ID: "s1-0", Mid: "0", Type: "video", Format: protocol.Format{Codec: "vp8"}}})
	e.rtc.emit(t, a.ID(), protocol.RTCEvent{Type: protocol.RTCEventComplete, TransportID: "s1", OperationID: "s1"})
	p1.wait(t, "alice", protocol.EventProgress, `{"id":"s1","sessionId":"s1","status":"ready"}`)
	add := p2.wait(t, "bob", protocol.EventStream, "")
	var ev protocol.StreamEvent
	if err := json.Unmarshal(add.Data, &ev); err != nil || ev.ID != "s1" || ev.Status != "add" {
		t.Fatalf("stream add = %s", add.Data)
	}

	// bob subscribes.
	c.must(protocol.MethodSubscribe, protocol.SubscribeRequest{RoomID: room, ParticipantID: "bob", SubscriptionID: "sub1",
		Tracks: []protocol.SubTrack{{Type: "video", Mid: "0", From: "s1"}}}, &op)
	var sub protocol.RTCSubscribe
	e.rtc.last(t, protocol.MethodRTCSubscribe, 1, &sub)
	if sub.Tracks[0].Source != (protocol.TrackRef{Agent: e.rtc.id, TrackID: "s1-0"}) || sub.TransportID != "sub1" {
		t.Fatalf("rtc.subscribe = %+v", sub)
	}

	manageRoom(t, e, c)

	// alice unpublishes: bob's subscription ends, the stream is removed.
	c.must(protocol.MethodUnpublish, protocol.OperationRequest{RoomID: room, ParticipantID: "alice", ID: "s1"}, nil)
	p2.wait(t, "bob", protocol.EventProgress, `{"id":"sub1","sessionId":"sub1","status":"error","data":"Source stream loss"}`)
	p2.wait(t, "bob", protocol.EventStream, `{"id":"s1","status":"remove"}`)

	c.must(protocol.MethodLeave, protocol.ParticipantRequest{RoomID: room, ParticipantID: "alice"}, nil)
	p2.wait(t, "bob", protocol.EventParticipant, `{"action":"leave","data":"alice"}`)
	c.must(protocol.MethodLeave, protocol.ParticipantRequest{RoomID: room, ParticipantID: "bob"}, nil)

	// Self-clean releases the lease after the grace.
	deadline := time.Now().Add(waitFor)
	for {
		_, err := e.store.GetLease(context.Background(), protocol.LeaseName(room))
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("lease not released after self-clean")
		}
		time.Sleep(20 * time.Millisecond)
	}
	err := c.call(protocol.MethodParticipantsList, protocol.RoomRequest{RoomID: room}, nil)
	if !isNotOwner(err) {
		t.Fatalf("a cleaned room answers %v", err)
	}
}

// manageRoom exercises the management RPCs on a room with alice publishing s1 and bob.
func manageRoom(t *testing.T, e *env, c client) {
	room := e.roomID
	var parts []map[string]any
	c.must(protocol.MethodParticipantsList, protocol.RoomRequest{RoomID: room}, &parts)
	if len(parts) != 2 || parts[0]["id"] != "alice" {
		t.Fatalf("participants = %+v", parts)
	}
	var one map[string]any
	c.must(protocol.MethodParticipantsGet, protocol.ItemRequest{RoomID: room, ID: "bob"}, &one)
	if one["role"] != "presenter" {
		t.Fatalf("participant = %+v", one)
	}
	err := c.call(protocol.MethodParticipantsGet, protocol.ItemRequest{RoomID: room, ID: "zz"}, nil)
	if !errors.Is(err, errs.ParticipantNotFound()) {
		t.Fatalf("unknown participant: %v", err)
	}
	var upd struct{ Permission protocol.Permission }
	c.must(protocol.MethodParticipantsUpdate, protocol.ItemUpdate{RoomID: room, ID: "bob", Ops: []protocol.PatchOp{
		{Op: "replace", Path: "/permission/publish", Value: json.RawMessage(`{"audio":false,"video":false}`)}}}, &upd)
	if upd.Permission.Publish.Video {
		t.Fatalf("update = %+v", upd)
	}
	var streams []map[string]any
	c.must(protocol.MethodStreamsList, protocol.RoomRequest{RoomID: room}, &streams)
	if len(streams) != 1 || streams[0]["id"] != "s1" || streams[0]["media"].(map[string]any)["audio"] != false {
		t.Fatalf("streams = %+v", streams)
	}
	var st map[string]any
	c.must(protocol.MethodStreamsUpdate, protocol.ItemUpdate{RoomID: room, ID: "s1", Ops: []protocol.PatchOp{
		{Op: "replace", Path: "/media/video/status", Value: json.RawMessage(`"inactive"`)}}}, &st)
	if st["media"].(map[string]any)["video"].(map[string]any)["status"] != "inactive" {
		t.Fatalf("updated stream = %+v", st)
	}
	var ctl protocol.RTCControl
	e.rtc.last(t, protocol.MethodRTCControl, 1, &ctl)
	if ctl.OperationID != "s1" || ctl.Active == nil || *ctl.Active {
		t.Fatalf("rtc.control = %+v", ctl)
	}
	err = c.call(protocol.MethodStreamsDelete, protocol.ItemRequest{RoomID: room, ID: "zz"}, nil)
	if !errors.Is(err, errs.StreamNotFound()) {
		t.Fatalf("delete unknown stream: %v", err)
	}
	var list []json.RawMessage
	c.must(protocol.MethodRecordingsList, protocol.RoomRequest{RoomID: room}, &list)
	if list == nil || len(list) != 0 {
		t.Fatalf("recordings = %s", list)
	}
	rec := protocol.AddRequest[protocol.Recording]{RoomID: room, Spec: protocol.Recording{
		Container: "auto", Media: protocol.OutMedia{Video: &protocol.OutVideo{From: "zz"}}}}
	if err := c.call(protocol.MethodRecordingsAdd, rec, nil); !errors.Is(err, errs.StreamNotFound()) {
		t.Fatalf("recording of an unknown stream: %v", err)
	}
	rec.Spec.Media.Video.From = "s1"
	if err := c.call(protocol.MethodRecordingsAdd, rec, nil); !errors.Is(err, errs.Cluster("")) {
		t.Fatalf("recording without agents: %v", err)
	}
}

func TestAgentDropAndDeleteStream(t *testing.T) {
	e := newEnv(t, nil)
	a, _ := e.startAgent()
	c := client{t: t, bus: e.bus(), agent: a.ID()}
	p1 := e.portal("portal-1")
	e.join(c, "alice", "presenter", "portal-1")
	e.join(c, "carol", "viewer", "portal-1")
	c.must(protocol.MethodPublish, protocol.PublishRequest{RoomID: e.roomID, ParticipantID: "alice", StreamID: "s1",
		Tracks: []protocol.PubTrack{{Type: "audio", Mid: "0", Source: "mic"}}}, nil)
	e.rtc.emit(t, a.ID(), protocol.RTCEvent{Type: protocol.RTCEventReady, TransportID: "s1"})
	e.rtc.emit(t, a.ID(), protocol.RTCEvent{Type: protocol.RTCEventTrack, TransportID: "s1",
		Track: &protocol.RTCTrack{ID: "s1-0", Mid: "0", Type: "audio", Format: protocol.Format{Codec: "opus"}}})
	e.rtc.emit(t, a.ID(), protocol.RTCEvent{Type: protocol.RTCEventComplete, TransportID: "s1", OperationID: "s1"})
	p1.wait(t, "carol", protocol.EventStream, "")
	c.must(protocol.MethodStreamsDelete, protocol.ItemRequest{RoomID: e.roomID, ID: "s1"}, nil)
	p1.wait(t, "carol", protocol.EventStream, `{"id":"s1","status":"remove"}`)
	c.must(protocol.MethodParticipantsDrop, protocol.ItemRequest{RoomID: e.roomID, ID: "carol"}, nil)
	p1.wait(t, "carol", protocol.EventDrop, "")
	p1.wait(t, "alice", protocol.EventParticipant, `{"action":"leave","data":"carol"}`)
	c.must(protocol.MethodRoomDestroy, protocol.RoomRequest{RoomID: e.roomID}, nil)
	p1.wait(t, "alice", protocol.EventDrop, "")
}

func TestAgentRaceForOneRoom(t *testing.T) {
	e := newEnv(t, nil)
	a1, _ := e.startAgent()
	a2, _ := e.startAgent()
	c := e.bus()
	var wg sync.WaitGroup
	errsOf := make([]error, 2)
	for i, a := range []*Agent{a1, a2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errsOf[i] = c.Call(context.Background(), a.ID(), protocol.MethodJoin, protocol.JoinRequest{RoomID: e.roomID,
				Participant: protocol.Joiner{ID: a.ID(), Role: "presenter", Portal: "portal-1"}}, nil)
		}()
	}
	wg.Wait()
	owners := 0
	for _, err := range errsOf {
		switch {
		case err == nil:
			owners++
		case !isNotOwner(err):
			t.Fatalf("loser answered %v", err)
		}
	}
	if owners != 1 {
		t.Fatalf("%d agents own the room (errors %v)", owners, errsOf)
	}
	l, err := e.store.GetLease(context.Background(), protocol.LeaseName(e.roomID))
	if err != nil || (errsOf[0] == nil) != (l.Owner == a1.ID()) {
		t.Fatalf("lease %+v does not match the winner (%v)", l, errsOf)
	}
}

func TestAgentWebRTCAgentGone(t *testing.T) {
	e := newEnv(t, nil)
	a, _ := e.startAgent()
	c := client{t: t, bus: e.bus(), agent: a.ID()}
	p1 := e.portal("portal-1")
	e.join(c, "alice", "presenter", "portal-1")
	e.join(c, "bob", "viewer", "portal-1")
	c.must(protocol.MethodPublish, protocol.PublishRequest{RoomID: e.roomID, ParticipantID: "alice", StreamID: "s1",
		Tracks: []protocol.PubTrack{{Type: "video", Mid: "0", Source: "camera"}}}, nil)
	e.rtc.emit(t, a.ID(), protocol.RTCEvent{Type: protocol.RTCEventReady, TransportID: "s1"})
	e.rtc.emit(t, a.ID(), protocol.RTCEvent{Type: protocol.RTCEventTrack, TransportID: "s1",
		Track: &protocol.RTCTrack{ID: "s1-0", Mid: "0", Type: "video", Format: protocol.Format{Codec: "vp8"}}})
	e.rtc.emit(t, a.ID(), protocol.RTCEvent{Type: protocol.RTCEventComplete, TransportID: "s1", OperationID: "s1"})
	p1.wait(t, "bob", protocol.EventStream, "")
	start := time.Now()
	e.rtc.stop() // the announcer leaves the cluster
	p1.wait(t, "alice", protocol.EventProgress, `{"id":"s1","sessionId":"s1","status":"error","data":"WebRTC agent is gone"}`)
	p1.wait(t, "bob", protocol.EventStream, `{"id":"s1","status":"remove"}`)
	t.Logf("sessions failed %v after the webrtc agent left", time.Since(start))
}

// TestAgentWebRTCAgentUnreachable reproduces a webrtc agent killed with -9 and restarted at
// once: the dead agent's last beat keeps it listed for up to three seconds, and the
// last-used strategy keeps picking it, so every new publication was sent to an agent with no
// RPC endpoint and failed (`bus: no such rpc endpoint`). The transport must go to the live
// agent instead, and the dead one must be dropped from the registry.
func TestAgentWebRTCAgentUnreachable(t *testing.T) {
	e := newEnv(t, nil)
	a, _ := e.startAgent()
	c := client{t: t, bus: e.bus(), agent: a.ID()}
	e.rtc.stop()
	e.waitWorker(e.rtc.id, false)
	// The dead agent: one beat (its last before the kill), no RPC endpoint.
	dead := cluster.Worker{ID: cluster.NewWorkerID("webrtc", "killed"), Purpose: "webrtc", MaxLoad: cluster.DefaultMaxLoad, Started: time.Now()}
	if err := e.bus().Publish(context.Background(), cluster.BeatTopic("webrtc"), dead); err != nil {
		t.Fatal(err)
	}
	e.waitWorker(dead.ID, true)
	e.rtc.announce(t, e) // the restarted agent, listed after the dead one
	for i, id := range []string{"alice", "bob"} {
		e.join(c, id, "presenter", "portal-1")
		var op protocol.OperationResult
		stream := fmt.Sprintf("s%d", i)
		c.must(protocol.MethodPublish, protocol.PublishRequest{RoomID: e.roomID, ParticipantID: id, StreamID: stream,
			Tracks: []protocol.PubTrack{{Type: "video", Mid: "0", Source: "camera"}}}, &op)
		var pub protocol.RTCPublish
		e.rtc.last(t, protocol.MethodRTCPublish, i+1, &pub)
		if pub.TransportID != stream {
			t.Fatalf("the live agent got rtc.publish %+v, want transport %s", pub, stream)
		}
	}
	if e.reg.Alive(dead.ID) {
		t.Fatal("the unreachable agent is still listed")
	}
}

func TestAgentUnknownRoom(t *testing.T) {
	e := newEnv(t, nil)
	a, _ := e.startAgent()
	c := client{t: t, bus: e.bus(), agent: a.ID()}
	err := c.call(protocol.MethodJoin, protocol.JoinRequest{RoomID: "000000000000000000000000",
		Participant: protocol.Joiner{ID: "x", Role: "presenter"}}, nil)
	if !errors.Is(err, errs.RoomNotFound()) {
		t.Fatalf("join of an unknown room: %v", err)
	}
	err = c.call(protocol.MethodPublish, protocol.PublishRequest{RoomID: e.roomID, ParticipantID: "x", StreamID: "s"}, nil)
	if !isNotOwner(err) {
		t.Fatalf("publish in a room not owned: %v", err)
	}
}

// isNotOwner reports whether err is the not-owner answer.
func isNotOwner(err error) bool {
	var e *errs.Error
	return errors.As(err, &e) && e.Message == protocol.ErrNotOwner
}
