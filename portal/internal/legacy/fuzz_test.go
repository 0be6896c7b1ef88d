package legacy

import (
	"encoding/json"
	"testing"
)

func FuzzLegacyPublish(f *testing.F) {
	f.Add(`{"media":{"audio":{"source":"mic"},"video":{"source":"camera"}},"attributes":{}}`)
	f.Add(`{"media":{"audio":false,"video":false}}`)
	f.Fuzz(func(t *testing.T, in string) {
		p, err := Publish(json.RawMessage(in))
		if err != nil {
			return
		}
		if len(p.Tracks) > 2 || (len(p.Tracks) > 0 && p.Tracks[0].Mid != "0") {
			t.Fatalf("tracks %+v", p.Tracks)
		}
	})
}

func FuzzLegacySubscribe(f *testing.F) {
	f.Add(`{"media":{"audio":{"from":"s"},"video":{"from":"s","simulcastRid":"r1","parameters":{"bitrate":"x0.5"}}}}`)
	f.Add(`{"media":{"audio":false,"video":{"from":"s","format":{"codec":"h264","profile":"CB"}}}}`)
	f.Fuzz(func(t *testing.T, in string) {
		tracks, err := Subscribe(json.RawMessage(in), func(string, string) (string, bool) { return "x", true })
		if err != nil {
			return
		}
		for _, tr := range tracks {
			if tr.From == "" && tr.Type == "" {
				t.Fatalf("track %+v", tr)
			}
		}
	})
}

func FuzzLegacyNotice(f *testing.F) {
	f.Add("stream", `{"id":"s","status":"add","data":{"id":"s","type":"forward","media":{"tracks":[{"type":"video","rid":"a","id":"t:a","format":{"codec":"vp8"},"status":"active","source":"camera"}]},"info":{}}}`)
	f.Add("stream", `{"id":"s","status":"update","data":{"field":".","value":{"id":"s","media":{"tracks":[]}}}}`)
	f.Add("progress", `{"id":"t","sessionId":"s","status":"ready"}`)
	f.Fuzz(func(t *testing.T, event, data string) {
		for _, v := range []string{V10, V11} {
			_, out := Notice(v, event, json.RawMessage(data))
			if json.Valid([]byte(data)) && !json.Valid(out) {
				t.Fatalf("invalid output %s", out)
			}
		}
		_, _ = ParseStreamChange(json.RawMessage(data))
	})
}
