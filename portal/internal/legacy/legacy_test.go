package legacy

import (
	"encoding/json"
	"testing"

	"github.com/conclave-rtc/conclave/common/protocol"
)

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestLegacyPublish(t *testing.T) {
	cases := []struct {
		name, in, err string
		mids          []string
	}{
		{"both", `{"media":{"audio":{"source":"mic"},"video":{"source":"camera","parameters":{"framerate":30}}},"attributes":{"k":"v"}}`, "", []string{"0", "1"}},
		{"video only", `{"media":{"audio":false,"video":{"source":"screen-cast"}}}`, "", []string{"0"}},
		{"1.0 type key", `{"type":"webrtc","media":{"audio":{"source":"mic"},"video":false}}`, "", []string{"0"}},
		{"no media", `{}`, "request should have required property 'media'", nil},
		{"no video key", `{"media":{"audio":false}}`, "request.media should have required property 'video'", nil},
		{"bad source", `{"media":{"audio":{"source":"guitar"},"video":false}}`, "request.media.audio.source should be equal to one of the allowed values", nil},
		{"missing source", `{"media":{"audio":{},"video":false}}`, "request.media.audio should have required property 'source'", nil},
		{"audio true", `{"media":{"audio":true,"video":false}}`, "request.media.audio should be object", nil},
		{"attributes", `{"media":{"audio":false,"video":false},"attributes":[]}`, "request.attributes should be object", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Publish(json.RawMessage(tc.in))
			if errText(err) != tc.err {
				t.Fatalf("err %q, want %q", errText(err), tc.err)
			}
			if len(p.Tracks) != len(tc.mids) {
				t.Fatalf("tracks %+v", p.Tracks)
			}
			for i, tr := range p.Tracks {
				if tr.Mid != tc.mids[i] {
					t.Fatalf("tracks %+v", p.Tracks)
				}
			}
		})
	}
}

func TestLegacySubscribe(t *testing.T) {
	resolve := func(stream, rid string) (string, bool) {
		if stream == "s1" && rid == "r2" {
			return "t-1:r2", true
		}
		return "", false
	}
	tracks, err := Subscribe(json.RawMessage(`{"media":{"audio":{"from":"s1","format":{"codec":"opus"}},"video":{"from":"s1","simulcastRid":"r2","parameters":{"resolution":{"width":640,"height":360}}}}}`), resolve)
	if err != nil || len(tracks) != 2 || tracks[0].Mid != "0" || tracks[0].Format.Codec != "opus" ||
		tracks[1].Mid != "1" || tracks[1].From != "t-1:r2" || tracks[1].Parameters.Resolution.Width != 640 {
		t.Fatalf("tracks %+v err %v", tracks, err)
	}
	tracks, _ = Subscribe(json.RawMessage(`{"media":{"audio":false,"video":{"from":"s1","simulcastRid":"zz"}}}`), resolve)
	if tracks[0].From != "s1" || tracks[0].Mid != "0" {
		t.Fatalf("unknown rid: %+v", tracks)
	}
	cases := []struct{ in, err string }{
		{`{"media":{"audio":{},"video":false}}`, "request.media.audio should have required property 'from'"},
		{`{"media":{"audio":{"from":1},"video":false}}`, "request.media.audio.from should be string"},
		{`{"media":{"video":false}}`, "request.media should have required property 'audio'"},
		{`{"media":{"audio":false,"video":{"from":"s","format":5}}}`, "request.media.video.format should be object"},
	}
	for _, tc := range cases {
		if _, err := Subscribe(json.RawMessage(tc.in), nil); errText(err) != tc.err {
			t.Errorf("%s: err %q, want %q", tc.in, errText(err), tc.err)
		}
	}
}

func sampleStream() protocol.StreamInfo {
	return protocol.StreamInfo{ID: "s1", Type: "forward", Info: json.RawMessage(`{"owner":"o"}`),
		Media: protocol.StreamMedia{Tracks: []protocol.TrackInfo{
			{Type: "audio", Source: "mic", Format: protocol.Format{Codec: "opus"}, Status: "active"},
			{Type: "video", Source: "camera", Format: protocol.Format{Codec: "vp8"}, Status: "active", Rid: "r1", ID: "t-1:r1",
				Parameters: &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: 1280, Height: 720}}},
			{Type: "video", Source: "camera", Format: protocol.Format{Codec: "vp8"}, Status: "active", Rid: "r2", ID: "t-1:r2"},
		}}}
}

func TestLegacyStreamConversion(t *testing.T) {
	b, _ := json.Marshal(Stream(V11, sampleStream()))
	want := `{"id":"s1","type":"forward","media":{"audio":{"status":"active","source":"mic","format":{"codec":"opus"}},"video":{"status":"active","source":"camera","original":[{"format":{"codec":"vp8"},"parameters":{"resolution":{"width":1280,"height":720}},"simulcastRid":"r1"},{"format":{"codec":"vp8"},"simulcastRid":"r2"}]}},"info":{"owner":"o"}}`
	if string(b) != want {
		t.Fatalf("1.1:\n%s\nwant\n%s", b, want)
	}
	b, _ = json.Marshal(Stream(V10, sampleStream()))
	want = `{"id":"s1","type":"forward","media":{"audio":{"status":"active","source":"mic","format":{"codec":"opus"}},"video":{"status":"active","source":"camera","format":{"codec":"vp8"},"parameters":{"resolution":{"width":1280,"height":720}}}},"info":{"owner":"o"}}`
	if string(b) != want {
		t.Fatalf("1.0:\n%s\nwant\n%s", b, want)
	}
	if _, same := Stream(V12, sampleStream()).(protocol.StreamInfo); !same {
		t.Fatal("1.2 stream converted")
	}
	if rids := Rids(sampleStream()); rids["r2"] != "t-1:r2" || len(rids) != 2 {
		t.Fatalf("rids %v", rids)
	}
}

func TestLegacyNotice(t *testing.T) {
	add, _ := json.Marshal(protocol.StreamEvent{ID: "s1", Status: "add", Data: sampleStream()})
	ev, out := Notice(V11, protocol.EventStream, add)
	if ev != "stream" || !json.Valid(out) || string(out) == string(add) {
		t.Fatalf("stream add %s", out)
	}
	upd, _ := json.Marshal(protocol.StreamEvent{ID: "s1", Status: "update", Data: protocol.StreamUpdate{Field: ".", Value: sampleStream()}})
	_, out = Notice(V10, protocol.EventStream, upd)
	var u struct {
		Data struct {
			Value StreamInfo `json:"value"`
		} `json:"data"`
	}
	if json.Unmarshal(out, &u) != nil || u.Data.Value.Media.Video.Format.Codec != "vp8" {
		t.Fatalf("update . %s", out)
	}
	ready := json.RawMessage(`{"id":"t","sessionId":"s","status":"ready"}`)
	if ev, _ := Notice(V11, protocol.EventProgress, ready); ev != EventSessionProgress {
		t.Fatalf("session progress event %q", ev)
	}
	if ev, _ := Notice(V12, protocol.EventProgress, ready); ev != protocol.EventProgress {
		t.Fatalf("1.2 progress event %q", ev)
	}
	if ev, _ := Notice(V11, protocol.EventProgress, json.RawMessage(`{"id":"t","status":"ready"}`)); ev != protocol.EventProgress {
		t.Fatalf("transport progress event %q", ev)
	}
	status := json.RawMessage(`{"id":"s1","status":"update","data":{"field":"audio.status","value":"inactive"}}`)
	if _, out := Notice(V11, protocol.EventStream, status); string(out) != string(status) {
		t.Fatalf("status update changed: %s", out)
	}
	ch, ok := ParseStreamChange(json.RawMessage(`{"id":"s1","status":"remove"}`))
	if !ok || !ch.Removed {
		t.Fatalf("remove %+v", ch)
	}
}
