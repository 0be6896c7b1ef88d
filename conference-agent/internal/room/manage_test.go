package room

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
)

func op(o, path, value string) protocol.PatchOp {
	return protocol.PatchOp{Op: o, Path: path, Value: json.RawMessage(value)}
}

func TestRoomManageParticipants(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.join("b", "viewer", "p2")
	list, err := h.r.Participants()
	if err != nil || len(list) != 2 || list[0].ID != "a" || list[1].Role != "viewer" {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if got, _ := json.Marshal(list[0]); string(got) !=
		`{"id":"a","user":"user-a","role":"presenter","permission":{"publish":{"audio":true,"video":true},"subscribe":{"audio":true,"video":true}}}` {
		t.Fatalf("detail = %s", got)
	}
	if _, err := h.r.Participant("zz"); !errors.Is(err, errs.ParticipantNotFound()) {
		t.Fatalf("unknown participant: %v", err)
	}
	h.notes.take()
	d, err := h.r.UpdateParticipant("a", []protocol.PatchOp{
		op("replace", "/permission/publish/video", `false`),
		op("replace", "/permission/subscribe", `{"audio":false,"video":true}`),
	})
	want := protocol.Permission{Publish: protocol.AV{Audio: true}, Subscribe: protocol.AV{Video: true}}
	if err != nil || d.Permission != want {
		t.Fatalf("update = %+v, %v", d, err)
	}
	if len(h.notes.take()) != 0 {
		t.Fatal("permission updates are not notified (OWT)")
	}
	_, err = h.r.Publish(context.Background(), protocol.PublishRequest{ParticipantID: "a", StreamID: "s", Tracks: avTracks})
	wantErr(t, err, "unauthorized")
	if _, err := h.r.UpdateParticipant("a", []protocol.PatchOp{op("replace", "/permission/data", `true`)}); err == nil {
		t.Fatal("bad path accepted")
	}
	if err := h.r.Drop("zz"); !errors.Is(err, errs.ParticipantNotFound()) {
		t.Fatalf("drop unknown: %v", err)
	}
	if err := h.r.Drop("b"); err != nil {
		t.Fatal(err)
	}
	notes := h.notes.take()
	if len(notes) != 2 || notes[0].event != protocol.EventDrop || notes[0].participants[0] != "b" ||
		notes[1].event != protocol.EventParticipant || notes[1].participants[0] != "a" {
		t.Fatalf("drop notices = %+v", notes)
	}
}

func TestRoomManageStreams(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.join("b", "presenter", "p2")
	h.publish("a", "s1", "t1")
	list, err := h.r.Streams()
	if err != nil || len(list) != 1 {
		t.Fatalf("list = %s, %v", list, err)
	}
	var got map[string]any
	_ = json.Unmarshal(list[0], &got)
	want := map[string]any{
		"id": "s1", "type": "forward",
		"media": map[string]any{
			"audio": map[string]any{"status": "active", "source": "camera",
				"format":   map[string]any{"codec": "opus", "sampleRate": 48000.0, "channelNum": 2.0},
				"optional": map[string]any{"format": []any{}}},
			"video": map[string]any{"status": "active", "source": "camera",
				"original": []any{map[string]any{"format": map[string]any{"codec": "vp8"},
					"parameters": map[string]any{"resolution": map[string]any{"width": 640.0, "height": 480.0}, "framerate": 30.0}}},
				"optional": map[string]any{"format": []any{}}},
		},
		"info": map[string]any{"owner": "a", "type": "webrtc", "inViews": []any{}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("v1.0 stream = %s", list[0])
	}
	if _, err := h.r.Stream("zz"); !errors.Is(err, errs.StreamNotFound()) {
		t.Fatalf("unknown stream: %v", err)
	}
	out, err := h.r.UpdateStream(context.Background(), "s1", []protocol.PatchOp{
		op("replace", "/media/video/status", `"inactive"`),
		op("add", "/info/inViews", `"common"`),
	})
	if err != nil {
		t.Fatal(err)
	}
	var upd struct {
		Media struct {
			Video struct{ Status string } `json:"video"`
		} `json:"media"`
		Info protocol.ForwardInfo `json:"info"`
	}
	if err := json.Unmarshal(out, &upd); err != nil || upd.Media.Video.Status != "inactive" || len(upd.Info.InViews) != 1 {
		t.Fatalf("updated = %s", out)
	}
	if c := h.rtc.byMethod(protocol.MethodRTCControl); len(c) != 1 || *c[0].req.(protocol.RTCControl).Active {
		t.Fatalf("rtc.control = %+v", c)
	}
	if _, err := h.r.UpdateStream(context.Background(), "s1", []protocol.PatchOp{op("add", "/info/inViews", `"zz"`)}); err == nil {
		t.Fatal("unknown view accepted")
	}
	if _, err := h.r.UpdateStream(context.Background(), "s1", []protocol.PatchOp{op("replace", "/info/layout", `[]`)}); err == nil {
		t.Fatal("layout of a forward stream accepted")
	}
	h.notes.take()
	if err := h.r.DeleteStream("zz"); !errors.Is(err, errs.StreamNotFound()) {
		t.Fatalf("delete unknown: %v", err)
	}
	if err := h.r.DeleteStream("s1"); err != nil {
		t.Fatal(err)
	}
	notes := h.notes.take()
	if got := find(notes, "a", protocol.EventProgress); len(got) != 1 ||
		string(got[0].data) != `{"id":"t1","sessionId":"s1","status":"error","data":"Stream is unpublished"}` {
		t.Fatalf("owner progress = %+v", got)
	}
	if len(find(notes, "b", protocol.EventStream)) != 1 {
		t.Fatal("stream remove not broadcast")
	}
}

func TestRoomDropAllCloses(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.join("b", "presenter", "p2")
	h.publish("a", "s1", "t1")
	h.notes.take()
	h.r.DropAll()
	notes := h.notes.take()
	if len(find(notes, "a", protocol.EventDrop)) != 1 || len(find(notes, "b", protocol.EventDrop)) != 1 {
		t.Fatalf("drops = %+v", notes)
	}
	if !h.r.Closed() {
		t.Fatal("room not closed")
	}
	if _, err := h.r.Participants(); !errors.Is(err, errs.Cluster("")) {
		t.Fatalf("closed room answers %v", err)
	}
}
