package room

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/conclave-rtc/conclave/common/errs"
)

// FuzzStreamControl checks that any stream-control data decodes to a valid command or a
// client error, never a panic.
func FuzzStreamControl(f *testing.F) {
	for _, seed := range []struct{ op, data string }{
		{"pause", `"av"`}, {"play", `"audio"`}, {"pause", `"bogus"`}, {"mix", `"common"`},
		{"unmix", `""`}, {"get-region", `"common"`}, {"set-region", `{"view":"common","region":"1"}`},
		{"set-region", `{"view":"common"}`}, {"set-region", `{"view":1}`}, {"rotate", `null`},
		{"pause", `{"a":[1,2]}`}, {"mix", `"` + string(make([]byte, 300)) + `"`},
	} {
		f.Add(seed.op, []byte(seed.data))
	}
	f.Fuzz(func(t *testing.T, op string, data []byte) {
		cmd, err := parseStreamControl(op, json.RawMessage(data))
		if err != nil {
			var e *errs.Error
			if !errors.As(err, &e) || e.Message == "" {
				t.Fatalf("error %v is not a client error", err)
			}
			return
		}
		switch cmd.op {
		case opPause, opPlay:
			if cmd.kind != kindAudio && cmd.kind != kindVideo && cmd.kind != kindAV {
				t.Fatalf("kind %q accepted", cmd.kind)
			}
		case opMix, opUnmix, opGetRegion, opSetRegion:
			if !validLabel(cmd.view) || (cmd.op == opSetRegion && !validLabel(cmd.region)) {
				t.Fatalf("label %q/%q accepted", cmd.view, cmd.region)
			}
		default:
			t.Fatalf("operation %q accepted", cmd.op)
		}
	})
}

// FuzzSubscriptionUpdate checks the decoding of subscription-control `update` data.
func FuzzSubscriptionUpdate(f *testing.F) {
	for _, seed := range []string{
		`{"video":{"from":"t1-0:q"}}`, `{"audio":{"from":"s1"}}`,
		`{"video":{"parameters":{"resolution":{"width":640,"height":480},"framerate":24,"bitrate":"x0.8","keyFrameInterval":5}}}`,
		`{"video":{"parameters":{"bitrate":500}}}`, `{"video":{"parameters":{"resolution":{"width":-1,"height":2}}}}`,
		`{}`, `null`, `[]`, `{"video":null}`, `{"video":{"parameters":{"bitrate":true}}}`, `{"x":1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := parseSubscriptionUpdate(json.RawMessage(data))
		if err != nil {
			var e *errs.Error
			if !errors.As(err, &e) || e.Message != msgInvalidControl {
				t.Fatalf("error %v", err)
			}
			return
		}
		if u.Audio == nil && u.Video == nil {
			t.Fatal("empty update accepted")
		}
		if u.Video != nil && u.Video.Parameters != nil && !validParameters(*u.Video.Parameters) {
			t.Fatal("invalid parameters accepted")
		}
		if u.Video != nil && u.Video.Parameters != nil {
			_ = parametersProblem(*u.Video.Parameters, nil)
		}
	})
}

// FuzzLayout checks the decoding of a PATCH /info/layout value: anything accepted has valid
// regions, distinct ids and streams, and its empty regions last.
func FuzzLayout(f *testing.F) {
	for _, seed := range []string{
		`[{"stream":"s1","region":{"id":"1","shape":"rectangle","area":{"left":"0","top":"0","width":"1","height":"1"}}}]`,
		`[{"stream":"s1","region":{"id":"1","area":{"left":0,"top":0,"width":"1/2","height":1}}},{"region":{"id":"2","area":{"left":"1/2","top":"0","width":"1/2","height":"1"}}}]`,
		`[{"region":{"id":"1","area":{"left":"0","top":"0","width":"1","height":"1"}}},{"stream":"s","region":{"id":"2","area":{"left":"0","top":"0","width":"1","height":"1"}}}]`,
		`[{"region":{"id":"1","shape":"circle","area":{"left":"0","top":"0","width":"1","height":"1"}}}]`,
		`[{"region":{"id":"1","area":{"left":"2","top":"0","width":"1/0","height":"1"}}}]`,
		`[]`, `null`, `{}`, `[{"stream":1}]`, `[{"x":1}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		layout, err := parseLayout(json.RawMessage(data))
		if err != nil {
			var e *errs.Error
			if !errors.As(err, &e) || e.Message != msgInvalidLayout || e.Status != 400 {
				t.Fatalf("error %v", err)
			}
			return
		}
		ids, streams, empty := map[string]bool{}, map[string]bool{}, false
		for _, l := range layout {
			if !validLabel(l.Region.ID) || ids[l.Region.ID] || !validArea(l.Region.Area) || l.Region.Shape != "rectangle" {
				t.Fatalf("region %+v accepted", l.Region)
			}
			ids[l.Region.ID] = true
			if l.Stream == "" {
				empty = true
			} else if empty || streams[l.Stream] {
				t.Fatalf("layout %s accepted", data)
			} else {
				streams[l.Stream] = true
			}
		}
	})
}
