package signaling

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDecodeUpdateName(t *testing.T) {
	for _, tc := range []struct {
		raw, want string // want "" = refused
	}{
		{`"Alice"`, "Alice"},
		{`"  Bob  "`, "Bob"},
		{`{"name":"Zoë 🎉"}`, "Zoë 🎉"},
		{`""`, ""},
		{`"   "`, ""},
		{`"a\u0007b"`, ""},
		{`"` + strings.Repeat("x", MaxDisplayName+1) + `"`, ""},
		{`{"name":"ok","extra":1}`, ""},
		{`{"name":3}`, ""},
		{`42`, ""},
		{`null`, ""},
	} {
		got, err := DecodeUpdateName(json.RawMessage(tc.raw))
		if tc.want == "" {
			if err == nil || err.Error() != MsgDisplayName {
				t.Errorf("%s: %q, %v; want %q", tc.raw, got, err, MsgDisplayName)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.raw, got, err, tc.want)
		}
	}
	if got, err := DecodeUpdateName(json.RawMessage(`"` + strings.Repeat("é", MaxDisplayName) + `"`)); err != nil || got == "" {
		t.Errorf("64 two-byte characters refused: %v", err)
	}
}

func TestDecodeMediaState(t *testing.T) {
	on, off := true, false
	for _, tc := range []struct {
		raw         string
		camera, mic *bool
		ok          bool
	}{
		{`{"cameraEnabled":false}`, &off, nil, true},
		{`{"microphoneEnabled":true,"cameraEnabled":true}`, &on, &on, true},
		{`{}`, nil, nil, false},
		{`{"cameraEnabled":"no"}`, nil, nil, false},
		{`{"camera":false}`, nil, nil, false},
		{`[]`, nil, nil, false},
	} {
		cam, mic, err := DecodeMediaState(json.RawMessage(tc.raw))
		if !tc.ok {
			if err == nil || err.Error() != MsgMediaState {
				t.Errorf("%s: accepted (%v)", tc.raw, err)
			}
			continue
		}
		if err != nil || !same(cam, tc.camera) || !same(mic, tc.mic) {
			t.Errorf("%s: %v %v %v", tc.raw, cam, mic, err)
		}
	}
}

func same(a, b *bool) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
