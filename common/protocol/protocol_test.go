package protocol

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// roundTrip decodes the fixture into a fresh T, re-encodes it and checks that the result is the
// same JSON document as the fixture, and that decoding it again gives an equal value.
func roundTrip[T any](t *testing.T, file string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", file, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %s: %v", file, err)
	}
	var want, got any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("%s: round trip changed the document\nwant %s\ngot  %s", file, bytes.TrimSpace(raw), out)
	}
	var again T
	if err := json.Unmarshal(out, &again); err != nil || !reflect.DeepEqual(v, again) {
		t.Fatalf("%s: second decode differs (%v)", file, err)
	}
}

func TestProtocolFixturesRoundTrip(t *testing.T) {
	cases := []struct {
		file string
		run  func(*testing.T, string)
	}{
		{"room_request.json", roundTrip[RoomRequest]},
		{"item_request.json", roundTrip[ItemRequest]},
		{"item_update.json", roundTrip[ItemUpdate]},
		{"streaming_in_add.json", roundTrip[AddRequest[StreamingIn]]},
		{"streaming_out_add.json", roundTrip[AddRequest[StreamingOut]]},
		{"recording_add.json", roundTrip[AddRequest[Recording]]},
		{"sip_call_add.json", roundTrip[AddRequest[SipCall]]},
		{"analytics_add.json", roundTrip[AddRequest[Analytics]]},
		{"chat_request.json", roundTrip[ChatRequest]},
		{"chat_history_request.json", roundTrip[ChatHistoryRequest]},
		{"chat_event.json", roundTrip[ChatEvent]},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) { c.run(t, c.file) })
	}
}

func TestProtocolOutMediaFalse(t *testing.T) {
	tests := []struct {
		in        string
		wantAudio bool
		wantVideo bool
		wantErr   bool
	}{
		{`{"audio":false,"video":{"from":"a"}}`, false, true, false},
		{`{"audio":{"from":"a"}}`, true, false, false},
		{`{"audio":null,"video":null}`, false, false, false},
		{`{"audio":true}`, false, false, true},
		{`[]`, false, false, true},
	}
	for _, tt := range tests {
		var m OutMedia
		err := json.Unmarshal([]byte(tt.in), &m)
		if (err != nil) != tt.wantErr {
			t.Fatalf("%s: err = %v", tt.in, err)
		}
		if err == nil && ((m.Audio != nil) != tt.wantAudio || (m.Video != nil) != tt.wantVideo) {
			t.Fatalf("%s: got %+v", tt.in, m)
		}
	}
	out, _ := json.Marshal(OutMedia{})
	if string(out) != `{"audio":false,"video":false}` {
		t.Fatalf("empty media = %s", out)
	}
}

func TestProtocolBitrate(t *testing.T) {
	var b Bitrate
	if err := json.Unmarshal([]byte(`"x0.4"`), &b); err != nil || b.Multiple != "x0.4" {
		t.Fatalf("%+v %v", b, err)
	}
	if err := json.Unmarshal([]byte(`750`), &b); err != nil || b.Kbps != 750 || b.Multiple != "" {
		t.Fatalf("%+v %v", b, err)
	}
	if err := json.Unmarshal([]byte(`{}`), &b); err == nil {
		t.Fatal("object accepted as bitrate")
	}
	if LeaseName("r1") != "room.r1" {
		t.Fatal(LeaseName("r1"))
	}
}
