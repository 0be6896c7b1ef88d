package room

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/conclave-rtc/conclave/common/protocol"
)

func TestRoomStreamControl(t *testing.T) {
	tests := []struct {
		name    string
		who     string
		op      string
		data    string
		want    string
		control string // expected rtc.control kind, "" for none
		updates []string
		inViews string
	}{
		{name: "pause av", who: "a", op: "pause", data: `"av"`, control: "av",
			updates: []string{`{"field":"audio.status","value":"inactive"}`, `{"field":"video.status","value":"inactive"}`}},
		{name: "play video", who: "a", op: "play", data: `"video"`, control: "video",
			updates: []string{`{"field":"video.status","value":"active"}`}},
		{name: "admin may", who: "adm", op: "pause", data: `"audio"`, control: "audio",
			updates: []string{`{"field":"audio.status","value":"inactive"}`}},
		{name: "others may not", who: "b", op: "pause", data: `"audio"`, want: "unauthorized"},
		{name: "unknown op", who: "a", op: "rotate", data: `"audio"`, want: "Invalid stream control operation"},
		{name: "bad kind", who: "a", op: "pause", data: `"data"`, want: "Invalid control data"},
		{name: "unknown stream", who: "a", op: "pause", data: `"av"`, want: "Stream does NOT exist"},
		{name: "mix", who: "a", op: "mix", data: `"common"`, inViews: `["common"]`},
		{name: "mix unknown view", who: "a", op: "mix", data: `"nope"`, want: "Invalid view label: nope"},
		{name: "get-region", who: "a", op: "get-region", data: `"common"`, want: "Mixed streams are not supported yet"},
		{name: "set-region", who: "a", op: "set-region", data: `{"view":"common","region":"1"}`, want: "Mixed streams are not supported yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.join("a", "presenter", "p1")
			h.join("b", "presenter", "p1")
			h.join("adm", "admin", "p1")
			h.publish("a", "s1", "t1")
			h.notes.take()
			id := "s1"
			if tt.want == "Stream does NOT exist" {
				id = "s2"
			}
			_, err := h.r.StreamControl(context.Background(), protocol.ControlRequest{
				ParticipantID: tt.who, ID: id, Operation: tt.op, Data: json.RawMessage(tt.data)})
			wantErr(t, err, tt.want)
			calls := h.rtc.byMethod(protocol.MethodRTCControl)
			if tt.control == "" && len(calls) != 0 || tt.control != "" && (len(calls) != 1 ||
				calls[0].req.(protocol.RTCControl).Kind != tt.control || calls[0].req.(protocol.RTCControl).OperationID != "s1") {
				t.Fatalf("rtc.control = %+v", calls)
			}
			var got []string
			for _, n := range find(h.notes.take(), "b", protocol.EventStream) {
				got = append(got, string(decodeJSONRaw(t, n.data)["data"]))
			}
			if len(got) != len(tt.updates) {
				t.Fatalf("updates = %v, want %v", got, tt.updates)
			}
			for i := range got {
				if got[i] != tt.updates[i] {
					t.Fatalf("update %d = %s, want %s", i, got[i], tt.updates[i])
				}
			}
			if views, _ := json.Marshal(h.r.pubs["s1"].inViews); tt.inViews != "" && string(views) != tt.inViews {
				t.Fatalf("inViews = %s, want %s", views, tt.inViews)
			}
		})
	}
}

func decodeJSONRaw(t *testing.T, raw []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return m
}

func TestRoomPauseShowsInStreamInfo(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.publish("a", "s1", "t1")
	if _, err := h.r.StreamControl(context.Background(), protocol.ControlRequest{
		ParticipantID: "a", ID: "s1", Operation: "pause", Data: json.RawMessage(`"video"`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.r.StreamControl(context.Background(), protocol.ControlRequest{
		ParticipantID: "a", ID: "s1", Operation: "mix", Data: json.RawMessage(`"common"`)}); err != nil {
		t.Fatal(err)
	}
	info := h.join("z", "viewer", "p1").Room.Streams[0]
	if info.Media.Tracks[0].Status != "active" || info.Media.Tracks[1].Status != "inactive" {
		t.Fatalf("tracks = %+v", info.Media.Tracks)
	}
	var fwd protocol.ForwardInfo
	if err := json.Unmarshal(info.Info, &fwd); err != nil || len(fwd.InViews) != 1 || fwd.InViews[0] != "common" {
		t.Fatalf("info = %s", info.Info)
	}
}

func TestRoomSubscriptionControl(t *testing.T) {
	tests := []struct {
		name  string
		who   string
		op    string
		data  string
		want  string
		layer string // expected rtc.control layer track
		kind  string // expected rtc.control kind without layer
	}{
		{name: "pause", who: "b", op: "pause", data: `"av"`, kind: "video"},
		{name: "not owner", who: "c", op: "pause", data: `"av"`, want: "unauthorized"},
		{name: "admin", who: "adm", op: "play", data: `"video"`, kind: "video"},
		{name: "no audio", who: "b", op: "pause", data: `"audio"`, want: "Track does NOT exist"},
		{name: "to another layer", who: "b", op: "update", data: `{"video":{"from":"t1-0:q"}}`, layer: "t1-0:q"},
		{name: "to the same layer", who: "b", op: "update", data: `{"video":{"from":"t1-0:f"}}`},
		{name: "to an unknown track", who: "b", op: "update", data: `{"video":{"from":"zz"}}`, want: "Update subscription failed"},
		{name: "parameters of the source", who: "b", op: "update",
			data: `{"video":{"parameters":{"resolution":{"width":1280,"height":720}}}}`},
		{name: "parameters needing transcoding", who: "b", op: "update",
			data: `{"video":{"parameters":{"resolution":{"width":320,"height":240}}}}`, want: "Update subscription failed"},
		{name: "audio re-pointing", who: "b", op: "update", data: `{"audio":{"from":"x"}}`, want: "Update subscription failed"},
		{name: "bad update", who: "b", op: "update", data: `{"bogus":1}`, want: "Invalid control data"},
		{name: "unknown op", who: "b", op: "querybwe", data: `{}`, want: "Invalid subscription control operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.join("a", "presenter", "p1")
			h.join("b", "presenter", "p1")
			h.join("c", "presenter", "p1")
			h.join("adm", "admin", "p1")
			simulcast(h)
			h.subscribe("b", "sub1", "tb", protocol.SubTrack{Type: "video", Mid: "0", From: "s1"})
			err := h.r.SubscriptionControl(context.Background(), protocol.ControlRequest{
				ParticipantID: tt.who, ID: "sub1", Operation: tt.op, Data: json.RawMessage(tt.data)})
			wantErr(t, err, tt.want)
			calls := h.rtc.byMethod(protocol.MethodRTCControl)
			switch {
			case tt.layer != "":
				if len(calls) != 1 || calls[0].req.(protocol.RTCControl).Layer == nil ||
					calls[0].req.(protocol.RTCControl).Layer.TrackID != tt.layer {
					t.Fatalf("rtc.control = %+v", calls)
				}
				if got, _ := h.r.subs["sub1"].track("video"); got.source.TrackID != tt.layer || got.mid != "0" {
					t.Fatalf("subscription track after update = %+v", got)
				}
			case tt.kind != "":
				if len(calls) != 1 || calls[0].req.(protocol.RTCControl).Kind != tt.kind ||
					calls[0].req.(protocol.RTCControl).OperationID != "sub1" {
					t.Fatalf("rtc.control = %+v", calls)
				}
			default:
				if len(calls) != 0 {
					t.Fatalf("unexpected rtc.control %+v", calls)
				}
			}
		})
	}
}
