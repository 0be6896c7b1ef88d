package room

import (
	"context"
	"testing"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// TestRoomUpdatePerson: a name change reaches everyone as participant update; camera and
// microphone off mute the participant's own stream's video and audio at the source (rtc.control)
// with OWT stream updates, once: a state already in force changes nothing.
func TestRoomUpdatePerson(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.join("b", "presenter", "p1")
	h.publish("a", "s1", "t1")
	h.publish("b", "s2", "t2")
	h.notes.take()
	name := "Alice Liddell"
	if err := h.r.UpdatePerson(context.Background(), protocol.ParticipantUpdateRequest{ParticipantID: "a", Name: &name}); err != nil {
		t.Fatal(err)
	}
	notes := h.notes.take()
	for _, who := range []string{"a", "b"} {
		got := find(notes, who, protocol.EventParticipant)
		want := `{"action":"update","data":{"id":"a","user":"user-a","role":"presenter","name":"Alice Liddell"}}`
		if len(got) != 1 || string(got[0].data) != want {
			t.Fatalf("%s got %+v, want %s", who, got, want)
		}
	}
	if len(h.rtc.byMethod(protocol.MethodRTCControl)) != 0 {
		t.Fatal("a name change controlled media")
	}

	off := false
	if err := h.r.UpdatePerson(context.Background(), protocol.ParticipantUpdateRequest{ParticipantID: "a", Camera: &off}); err != nil {
		t.Fatal(err)
	}
	calls := h.rtc.byMethod(protocol.MethodRTCControl)
	if len(calls) != 1 {
		t.Fatalf("rtc.control calls %+v, want one", calls)
	}
	if c := calls[0].req.(protocol.RTCControl); c.OperationID != "s1" || c.Kind != "video" || c.Active == nil || *c.Active {
		t.Fatalf("rtc.control %+v, want s1 video inactive", c)
	}
	notes = h.notes.take()
	part := find(notes, "b", protocol.EventParticipant)
	if len(part) != 1 || string(decodeJSONRaw(t, part[0].data)["data"]) !=
		`{"id":"a","user":"user-a","role":"presenter","name":"Alice Liddell","mediaState":{"cameraEnabled":false,"microphoneEnabled":true}}` {
		t.Fatalf("participant update %+v", part)
	}
	streams := find(notes, "b", protocol.EventStream)
	if len(streams) != 1 || string(decodeJSONRaw(t, streams[0].data)["data"]) != `{"field":"video.status","value":"inactive"}` {
		t.Fatalf("stream updates %+v", streams)
	}
	// Off again: nothing to mute. Then the microphone off: the audio of s1 only.
	if err := h.r.UpdatePerson(context.Background(), protocol.ParticipantUpdateRequest{ParticipantID: "a", Camera: &off, Microphone: &off}); err != nil {
		t.Fatal(err)
	}
	calls = h.rtc.byMethod(protocol.MethodRTCControl)
	if len(calls) != 2 || calls[1].req.(protocol.RTCControl).Kind != "audio" || calls[1].req.(protocol.RTCControl).OperationID != "s1" {
		t.Fatalf("rtc.control calls %+v, want a second one for s1 audio", calls)
	}
	on := true
	if err := h.r.UpdatePerson(context.Background(), protocol.ParticipantUpdateRequest{ParticipantID: "a", Camera: &on}); err != nil {
		t.Fatal(err)
	}
	calls = h.rtc.byMethod(protocol.MethodRTCControl)
	if len(calls) != 3 || *calls[2].req.(protocol.RTCControl).Active != true {
		t.Fatalf("camera on: rtc.control calls %+v", calls)
	}
	wantErr(t, h.r.UpdatePerson(context.Background(), protocol.ParticipantUpdateRequest{ParticipantID: "nobody", Name: &name}), msgNotJoined)
}
