package room

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/common/errs"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// golden compares got with testdata/name, writing the file first with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, got)
	}
	pretty.WriteByte('\n')
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Fatalf("%s differs from golden file:\n%s", name, pretty.Bytes())
	}
}

func TestRoomDefaultGolden(t *testing.T) {
	r := Default("My room")
	r.ID = "65a1b2c3d4e5f60718293a4b"
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "default_room.json", b)
	if err := r.Validate(); err != nil {
		t.Fatalf("default room invalid: %v", err)
	}
}

func TestRoomDefaultContents(t *testing.T) {
	r := Default("x")
	var names []string
	for _, role := range r.Roles {
		names = append(names, role.Role)
	}
	if got := strings.Join(names, ","); got != "presenter,viewer,audio_only_presenter,video_only_viewer,sip" {
		t.Fatalf("roles %s", got)
	}
	if v, ok := r.Role("viewer"); !ok || v.Publish != (AV{}) || v.Subscribe != (AV{true, true}) {
		t.Fatalf("viewer role %+v %v", v, ok)
	}
	if _, ok := r.Role("guest"); ok {
		t.Fatal("unexpected guest role")
	}
	v, ok := r.View("common")
	if !ok || v.Video == nil || v.Video.MaxInput != 16 || v.Video.Parameters.Resolution != (Resolution{640, 480}) {
		t.Fatalf("common view %+v", v)
	}
	if r.InputLimit != -1 || r.ParticipantLimit != -1 || !r.Transcoding.Video.Parameters.KeyFrameInterval {
		t.Fatalf("limits/transcoding %+v", r)
	}
}

func TestRoomMarshalShape(t *testing.T) {
	r := Default("n")
	r.ID = "abc"
	b, _ := json.Marshal(r)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["_id"] != "abc" || m["id"] != "abc" || m["__v"] != float64(0) {
		t.Fatalf("id keys: %v %v %v", m["_id"], m["id"], m["__v"])
	}
	if _, ok := m["sip"]; ok {
		t.Fatal("sip key present without SIP")
	}
	cfg := string(r.Config())
	for _, k := range []string{`"_id"`, `"id"`, `"__v"`} {
		if strings.Contains(cfg, k) {
			t.Fatalf("Config contains %s: %s", k, cfg)
		}
	}
	r.SIP = &SIP{SipServer: "sip.example", Username: "u", Password: "p"}
	b, _ = json.Marshal(r)
	if !bytes.Contains(b, []byte(`"sip":{"sipServer":"sip.example","username":"u","password":"p"}`)) {
		t.Fatalf("sip missing: %s", b)
	}
}

func TestRoomAudioOnlyViewJSON(t *testing.T) {
	r, err := ParseCreate([]byte(`{"name":"a","options":{"views":[{"label":"audio","video":false},{"label":"v"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.Views[0].Video != nil || r.Views[1].Video == nil {
		t.Fatalf("views %+v", r.Views)
	}
	b, _ := json.Marshal(r.Views[0])
	want := `{"label":"audio","audio":{"format":{"codec":"opus","sampleRate":48000,"channelNum":2},"vad":true},"video":false}`
	if string(b) != want {
		t.Fatalf("view JSON\n%s\nwant\n%s", b, want)
	}
	back, err := Parse(r.Config())
	if err != nil || !reflect.DeepEqual(back.Views, r.Views) {
		t.Fatalf("round trip: %v\n%+v", err, back.Views)
	}
}

func TestRoomParseCreateMerging(t *testing.T) {
	body := `{"name":"conf","options":{
		"inputLimit":0, "participantLimit":10, "selectActiveAudio":true,
		"roles":[{"role":"host","publish":{"audio":true,"video":true},"subscribe":{"audio":true}}],
		"views":[{"label":"big","video":{"maxInput":4,"parameters":{"resolution":{"width":1280,"height":720}},
			"layout":{"templates":{"base":"void","custom":[{"region":[{"id":"1","area":{"left":"0","top":0,"width":"1/2","height":1}}]}]}}}}],
		"transcoding":{"video":{"format":false}},
		"notifying":{"streamChange":false},
		"_id":"ignored", "__v":3, "name":"ignored too"}}`
	r, err := ParseCreate([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "conf" || r.InputLimit != -1 || r.ParticipantLimit != 10 || !r.SelectActiveAudio {
		t.Fatalf("top level: %+v", r)
	}
	if len(r.Roles) != 1 || r.Roles[0].Subscribe != (AV{Audio: true}) {
		t.Fatalf("roles replaced wholesale: %+v", r.Roles)
	}
	v := r.Views[0].Video
	if r.Views[0].Label != "big" || v.MaxInput != 4 || v.Parameters.Resolution != (Resolution{1280, 720}) ||
		v.Parameters.Framerate != 24 || v.Layout.FitPolicy != "letterbox" || v.Layout.Templates.Base != "void" ||
		!r.Views[0].Audio.VAD || v.MotionFactor != 0.8 {
		t.Fatalf("view not merged onto defaults: %+v %+v", r.Views[0], v)
	}
	reg := v.Layout.Templates.Custom[0].Region[0]
	if reg.Shape != ShapeRectangle || reg.Area != (Area{"0", "0", "1/2", "1"}) {
		t.Fatalf("region %+v", reg)
	}
	wantTranscoding := allTranscoding()
	wantTranscoding.Video.Format = false
	if r.Transcoding != wantTranscoding {
		t.Fatalf("transcoding %+v", r.Transcoding)
	}
	if r.Notifying != (Notifying{ParticipantActivities: true}) {
		t.Fatalf("notifying %+v", r.Notifying)
	}
	if !reflect.DeepEqual(r.MediaOut, Default("").MediaOut) {
		t.Fatal("mediaOut not defaulted")
	}
}

func TestRoomParseCreateFalsyAndShallow(t *testing.T) {
	tests := []struct {
		name    string
		options string
		check   func(Room) bool
	}{
		{"no options", ``, func(r Room) bool { return reflect.DeepEqual(r, Default("x")) }},
		{"null options", `,"options":null`, func(r Room) bool { return reflect.DeepEqual(r, Default("x")) }},
		{"falsy keys take defaults", `,"options":{"roles":null,"views":null,"mediaIn":null,"inputLimit":0,"sip":false,"notifying":null}`,
			func(r Room) bool { return reflect.DeepEqual(r, Default("x")) }},
		{"empty views means no mixing", `,"options":{"views":[]}`, func(r Room) bool { return len(r.Views) == 0 }},
		{"mediaIn replaced shallowly", `,"options":{"mediaIn":{"audio":[{"codec":"opus"}]}}`,
			func(r Room) bool { return len(r.MediaIn.Audio) == 1 && len(r.MediaIn.Video) == 0 }},
		{"sip set", `,"options":{"sip":{"sipServer":"s"}}`,
			func(r Room) bool { return r.SIP != nil && *r.SIP == SIP{SipServer: "s"} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseCreate([]byte(`{"name":"x"` + tc.options + `}`))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(r) {
				t.Fatalf("unexpected room %+v", r)
			}
		})
	}
}

func TestRoomParseCreateMediaOutWithoutVideoConflicts(t *testing.T) {
	_, err := ParseCreate([]byte(`{"name":"x","options":{"mediaOut":{"audio":[{"codec":"opus","sampleRate":48000,"channelNum":2}]}}}`))
	assertBadRequest(t, err, MsgMediaOutConflict)
}

func TestRoomParseUpdate(t *testing.T) {
	current, err := ParseCreate([]byte(`{"name":"orig","options":{"sip":{"sipServer":"s","username":"u","password":"p"},"participantLimit":5}}`))
	if err != nil {
		t.Fatal(err)
	}
	current.ID = "r1"
	got, _ := json.Marshal(current)

	t.Run("GET result PUT back unchanged", func(t *testing.T) {
		r, err := ParseUpdate(current, got)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r, current) {
			t.Fatalf("changed:\n%+v\n%+v", r, current)
		}
	})
	t.Run("present keys replace", func(t *testing.T) {
		r, err := ParseUpdate(current, []byte(`{"name":"new","inputLimit":0,"roles":[],"views":[{"label":"a","video":false}],"notifying":{"streamChange":false},"participantLimit":null}`))
		if err != nil {
			t.Fatal(err)
		}
		if r.ID != "r1" || r.Name != "new" || r.InputLimit != 0 || len(r.Roles) != 0 || r.ParticipantLimit != 5 ||
			len(r.Views) != 1 || r.Views[0].Video != nil || r.Views[0].Audio != DefaultView().Audio ||
			r.Notifying != (Notifying{ParticipantActivities: true}) || r.SIP == nil {
			t.Fatalf("update result %+v", r)
		}
		if len(current.Roles) != 5 || current.Views[0].Video == nil {
			t.Fatal("current modified")
		}
	})
	t.Run("sip false removes", func(t *testing.T) {
		r, err := ParseUpdate(current, []byte(`{"sip":false}`))
		if err != nil || r.SIP != nil {
			t.Fatalf("%v %+v", err, r.SIP)
		}
	})
	t.Run("empty name rejected", func(t *testing.T) {
		_, err := ParseUpdate(current, []byte(`{"name":""}`))
		assertBadRequest(t, err, "name must not be empty")
	})
	t.Run("numeric name rejected", func(t *testing.T) {
		_, err := ParseUpdate(current, []byte(`{"name":5}`))
		assertBadRequest(t, err, "name must be a string")
	})
	t.Run("conflict", func(t *testing.T) {
		_, err := ParseUpdate(current, []byte(`{"mediaOut":{"audio":[{"codec":"pcmu"}],"video":{"format":[{"codec":"vp8"}]}}}`))
		assertBadRequest(t, err, MsgMediaOutConflict)
	})
}

// assertBadRequest checks that err is a 400 (code 1301) whose message contains want.
func assertBadRequest(t *testing.T, err error, want string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not *errs.Error", err, err)
	}
	if e.Status != http.StatusBadRequest || e.Code != errs.CodeBadRequest || !strings.Contains(e.Message, want) {
		t.Fatalf("error %d/%d %q, want 400/1301 containing %q", e.Status, e.Code, e.Message, want)
	}
}

func TestRoomParseStoredRoundTrip(t *testing.T) {
	r := Default("x")
	r.Views = append(r.Views, View{Label: "a", Audio: DefaultView().Audio})
	r.MediaOut.Video.Parameters.Bitrate = append(r.MediaOut.Video.Parameters.Bitrate, "500")
	back, err := Parse(r.Config())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r.normalized()) {
		t.Fatalf("round trip:\n%+v\n%+v", back, r)
	}
	if !bytes.Contains(r.Config(), []byte(`"x0.2",500]`)) {
		t.Fatalf("numeric bitrate not written as a number: %s", r.Config())
	}
}

func FuzzParseCreate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(`{"name":"n","options":` + s + `}`))
	}
	f.Add([]byte(`{"name":"n"}`))
	f.Add([]byte(`{"name":""}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseCreate(body)
		if err != nil {
			assertIsBadRequest(t, err)
			return
		}
		checkAccepted(t, r)
	})
}

func FuzzParseUpdate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	def, _ := json.Marshal(Default("n"))
	f.Add(def)
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseUpdate(Default("n"), body)
		if err != nil {
			assertIsBadRequest(t, err)
			return
		}
		checkAccepted(t, r)
	})
}

var fuzzSeeds = []string{
	`{}`,
	`{"views":[{"label":"a","video":false}],"sip":{"sipServer":"s"}}`,
	`{"views":[{"video":{"layout":{"templates":{"custom":[{"primary":"1","region":[{"id":"1","area":{"left":"1/3","top":0.5,"width":"1","height":"0"}}]}]}}}}]}`,
	`{"mediaOut":{"video":{"parameters":{"bitrate":["x0.5",800],"resolution":["r640x360","x1/2"]}}},"inputLimit":3}`,
	`{"roles":[{"role":"a"},{"role":"a"}],"views":[{"video":{"maxInput":0}}]}`,
	`{"transcoding":{"video":{"parameters":{"bitrate":false}}},"notifying":{"participantActivities":false},"_id":1}`,
}

func assertIsBadRequest(t *testing.T, err error) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
		t.Fatalf("error is not a 400 *errs.Error: %v", err)
	}
}

// checkAccepted asserts the invariants of an accepted room.
func checkAccepted(t *testing.T, r Room) {
	t.Helper()
	if err := r.Validate(); err != nil {
		t.Fatalf("accepted room does not re-validate: %v", err)
	}
	back, err := Parse(r.Config())
	if err != nil {
		t.Fatalf("Parse(Config()): %v\n%s", err, r.Config())
	}
	if !reflect.DeepEqual(back, r) {
		t.Fatalf("Config/Parse round trip changed the room:\n%+v\n%+v", back, r)
	}
	rest, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseUpdate(r, rest)
	if err != nil || !reflect.DeepEqual(again, r) {
		t.Fatalf("PUT of the GET result changed the room: %v", err)
	}
}

func TestRoomAutoMix(t *testing.T) {
	r, err := ParseCreate([]byte(`{"name":"a"}`))
	if err != nil || r.AutoMix {
		t.Fatalf("default autoMix: %v %v", r.AutoMix, err)
	}
	r, err = ParseCreate([]byte(`{"name":"a","options":{"autoMix":true}}`))
	if err != nil || !r.AutoMix {
		t.Fatalf("autoMix true: %v %v", r.AutoMix, err)
	}
	b, _ := json.Marshal(r)
	if !bytes.Contains(b, []byte(`"autoMix":true`)) {
		t.Fatalf("autoMix not returned: %s", b)
	}
	back, err := Parse(r.Config())
	if err != nil || !back.AutoMix {
		t.Fatalf("stored round trip: %v %v", back.AutoMix, err)
	}
	up, err := ParseUpdate(r, []byte(`{"autoMix":false}`))
	if err != nil || up.AutoMix {
		t.Fatalf("update to false: %v %v", up.AutoMix, err)
	}
	// An empty views list is kept (not falsy), so autoMix would have no view to feed.
	_, err = ParseCreate([]byte(`{"name":"a","options":{"autoMix":true,"views":[]}}`))
	if err == nil || !strings.Contains(err.Error(), "autoMix") {
		t.Fatalf("autoMix without views: %v", err)
	}
	if _, err := ParseCreate([]byte(`{"name":"a","options":{"autoMix":"yes"}}`)); err == nil {
		t.Fatal("autoMix string accepted")
	}
}
