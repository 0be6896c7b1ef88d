package check

import (
	"encoding/json"
	"testing"
)

func TestCheckMessages(t *testing.T) {
	o, err := Object(json.RawMessage(`{"a":"x","b":5,"c":true,"d":[1],"e":{}}`), Root)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"required", o.Require("a", "z"), "request should have required property 'z'"},
		{"additional", o.Only("a", "b"), "request should NOT have additional properties"},
		{"string", func() error { _, _, err := o.String("b"); return err }(), "request.b should be string"},
		{"enum", func() error { _, _, err := o.Enum("a", "y"); return err }(), "request.a should be equal to one of the allowed values"},
		{"bool", func() error { _, err := o.Bool("a"); return err }(), "request.a should be boolean"},
		{"array", func() error { _, err := o.Array("e"); return err }(), "request.e should be array"},
		{"object", func() error { _, err := o.Sub("d"); return err }(), "request.d should be object"},
		{"not object", func() error { _, err := Object(json.RawMessage(`null`), Root); return err }(), "request should be object"},
	}
	for _, tc := range cases {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, tc.err, tc.want)
		}
	}
	if Item("request.media.tracks", 2) != "request.media.tracks[2]" || !IsNull(nil) || !IsFalse(json.RawMessage(" false")) {
		t.Fatal("helpers")
	}
}
