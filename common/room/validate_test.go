package room

import (
	"net/http"

	"github.com/conclave-rtc/conclave/common/errs"
	"strings"
	"testing"
)

func TestRoomValidationRules(t *testing.T) {
	long := strings.Repeat("a", MaxNameLen+1)
	many := func(n int, item string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + "]"
	}
	tests := []struct {
		name    string
		options string // JSON of the options object
		want    string // substring of the error message; "" = accepted
	}{
		{"defaults", `{}`, ""},
		// JSON types and keys.
		{"unknown top-level key", `{"foo":1}`, "unknown key foo"},
		{"unknown nested key", `{"views":[{"video":{"layout":{"fit":"crop"}}}]}`, "unknown key views[0].video.layout.fit"},
		{"key case matters", `{"InputLimit":3}`, "unknown key InputLimit"},
		{"limit as string", `{"inputLimit":"3"}`, "inputLimit must be a number"},
		{"limit fractional", `{"participantLimit":2.5}`, "participantLimit must be an integer"},
		{"limit huge", `{"participantLimit":1e30}`, "participantLimit must be an integer"},
		{"roles not array", `{"roles":{}}`, "roles must be an array"},
		{"role publish not object", `{"roles":[{"role":"a","publish":true}]}`, "roles[0].publish must be an object"},
		{"role publish audio not bool", `{"roles":[{"role":"a","publish":{"audio":1}}]}`, "roles[0].publish.audio must be a boolean"},
		{"null array element", `{"roles":[null]}`, "roles[0] must be an object"},
		{"video true", `{"views":[{"video":true}]}`, "views[0].video must be an object"},
		{"motionFactor string", `{"views":[{"video":{"motionFactor":"x"}}]}`, "views[0].video.motionFactor must be a number"},
		{"area bool", `{"views":[{"video":{"layout":{"templates":{"custom":[{"region":[{"id":"1","area":{"left":true}}]}]}}}}]}`, "area.left must be a string or a number"},
		{"bitrate string without x", `{"mediaOut":` + mediaOutWith(`"bitrate":["500"]`) + `}`, `bitrate[0] must be a number or a string starting with "x"`},
		{"huge array", `{"mediaIn":{"audio":` + many(maxArrayLen+1, `{"codec":"opus"}`) + `}}`, "mediaIn.audio has more than"},
		// Limits and names.
		{"limit -2", `{"inputLimit":-2}`, "inputLimit must be an integer >= -1"},
		{"limit -1 ok", `{"inputLimit":-1,"participantLimit":100}`, ""},
		{"too many roles", `{"roles":` + many(MaxRoles+1, `{"role":"a"}`) + `}`, "roles must have at most 64 entries"},
		{"empty role", `{"roles":[{"role":""}]}`, "roles[0].role must not be empty"},
		{"long role", `{"roles":[{"role":"` + long + `"}]}`, "roles[0].role must be at most 128 characters"},
		{"duplicate role", `{"roles":[{"role":"a"},{"role":"b"},{"role":"a"}]}`, `roles[2].role "a" is defined twice`},
		// Views.
		{"too many views", `{"views":` + many(MaxViews+1, `{}`) + `}`, "views must have at most 16 entries"},
		{"duplicate label", `{"views":[{},{}]}`, `views[1].label "common" is used by two views`},
		{"empty label", `{"views":[{"label":""}]}`, "views[0].label must not be empty"},
		{"maxInput 0", `{"views":[{"video":{"maxInput":0}}]}`, "views[0].video.maxInput must be between 1 and 256"},
		{"maxInput 257", `{"views":[{"video":{"maxInput":257}}]}`, "views[0].video.maxInput must be between 1 and 256"},
		{"maxInput 256", `{"views":[{"video":{"maxInput":256}}]}`, ""},
		{"bgColor 256", `{"views":[{"video":{"bgColor":{"g":256}}}]}`, "views[0].video.bgColor.g must be between 0 and 255"},
		{"bgColor negative", `{"views":[{"video":{"bgColor":{"r":-1}}}]}`, "views[0].video.bgColor.r must be between 0 and 255"},
		{"motionFactor negative", `{"views":[{"video":{"motionFactor":-0.5}}]}`, "motionFactor must not be negative"},
		{"fitPolicy", `{"views":[{"video":{"layout":{"fitPolicy":"stretch"}}}]}`, "layout.fitPolicy must be one of letterbox, crop"},
		{"crop ok", `{"views":[{"video":{"layout":{"fitPolicy":"crop","setRegionEffect":"circle"}}}]}`, ""},
		{"template base", `{"views":[{"video":{"layout":{"templates":{"base":"grid"}}}}]}`, "templates.base must be one of fluid, lecture, void"},
		{"framerate 25", `{"views":[{"video":{"parameters":{"framerate":25}}}]}`, "views[0].video.parameters.framerate must be one of 6, 12, 15, 24, 30, 48, 60"},
		{"kfi 10", `{"views":[{"video":{"parameters":{"keyFrameInterval":10}}}]}`, "keyFrameInterval must be one of 100, 30, 5, 2, 1"},
		{"resolution zero", `{"views":[{"video":{"parameters":{"resolution":{"width":0}}}}]}`, "parameters.resolution.width must be between 1 and 8192"},
		{"bitrate negative", `{"views":[{"video":{"parameters":{"bitrate":-1}}}]}`, "parameters.bitrate must be between"},
		{"view audio codec", `{"views":[{"audio":{"format":{"codec":"mp3"}}}]}`, "views[0].audio.format.codec must be one of opus"},
		{"view video codec", `{"views":[{"video":{"format":{"codec":"mpeg2"}}}]}`, "views[0].video.format.codec must be one of h264"},
		{"view profile on vp8", `{"views":[{"video":{"format":{"codec":"vp8","profile":"B"}}}]}`, "views[0].video.format.profile is only allowed for h264"},
		{"too many custom", `{"views":[{"video":{"layout":{"templates":{"custom":` + many(MaxCustomTemplates+1, customTemplate(`"1/3"`)) + `}}}}]}`, "templates.custom must have at most 64 entries"},
		{"empty custom region", `{"views":[{"video":{"layout":{"templates":{"custom":[{"region":[]}]}}}}]}`, "custom[0].region must not be empty"},
		{"region without id", `{"views":[{"video":{"layout":{"templates":{"custom":[{"region":[{"area":{"left":"0","top":"0","width":"1","height":"1"}}]}]}}}}]}`, "custom[0].region[0].id must not be empty"},
		{"region shape", `{"views":[{"video":{"layout":{"templates":{"custom":[{"region":[{"id":"1","shape":"circle","area":{"left":"0","top":"0","width":"1","height":"1"}}]}]}}}}]}`, `region[0].shape must be "rectangle"`},
		{"area missing", `{"views":[{"video":{"layout":{"templates":{"custom":[{"region":[{"id":"1","area":{"left":"0","top":"0","width":"1"}}]}]}}}}]}`, "region[0].area.height is required"},
		{"area 1/3", `{"views":[{"video":{"layout":{"templates":{"custom":[` + customTemplate(`"1/3"`) + `]}}}}]}`, ""},
		{"area 0.25", `{"views":[{"video":{"layout":{"templates":{"custom":[` + customTemplate(`"0.25"`) + `]}}}}]}`, ""},
		{"area number", `{"views":[{"video":{"layout":{"templates":{"custom":[` + customTemplate(`0.5`) + `]}}}}]}`, ""},
		{"area 2", `{"views":[{"video":{"layout":{"templates":{"custom":[` + customTemplate(`"2"`) + `]}}}}]}`, `area.left must be a fraction in [0, 1] such as "1/3", not "2"`},
		{"area a/b", `{"views":[{"video":{"layout":{"templates":{"custom":[` + customTemplate(`"a/b"`) + `]}}}}]}`, "area.left must be a fraction"},
		{"area 1/0", `{"views":[{"video":{"layout":{"templates":{"custom":[` + customTemplate(`"1/0"`) + `]}}}}]}`, "area.left must be a fraction"},
		{"area negative", `{"views":[{"video":{"layout":{"templates":{"custom":[` + customTemplate(`-0.5`) + `]}}}}]}`, "area.left must be a fraction"},
		// mediaIn / mediaOut.
		{"mediaIn audio codec", `{"mediaIn":{"audio":[{"codec":"OPUS"}]}}`, "mediaIn.audio[0].codec must be one of"},
		{"mediaIn video av1", `{"mediaIn":{"video":[{"codec":"av1"},{"codec":"h265"}]}}`, ""},
		{"mediaIn h264 profile", `{"mediaIn":{"video":[{"codec":"h264","profile":"X"}]}}`, "mediaIn.video[0].profile must be one of CB, B, M, H"},
		{"mediaOut video codec", `{"mediaOut":` + mediaOutFormats(`{"codec":"vp8"},{"codec":"theora"}`) + `}`, "mediaOut.video.format[1].codec must be one of"},
		{"mediaOut resolution name", `{"mediaOut":` + mediaOutWith(`"resolution":["vga","xga","r640x360","x3/4","sif"]`) + `}`, ""},
		{"mediaOut resolution bad", `{"mediaOut":` + mediaOutWith(`"resolution":["vga","huge"]`) + `}`, `mediaOut.video.parameters.resolution[1] must be a resolution name`},
		{"mediaOut resolution scale up", `{"mediaOut":` + mediaOutWith(`"resolution":["x4/3"]`) + `}`, "resolution[0] must be"},
		{"mediaOut framerate", `{"mediaOut":` + mediaOutWith(`"framerate":[6,7]`) + `}`, "mediaOut.video.parameters.framerate[1] must be one of"},
		{"mediaOut kfi", `{"mediaOut":` + mediaOutWith(`"keyFrameInterval":[3]`) + `}`, "mediaOut.video.parameters.keyFrameInterval[0] must be one of"},
		{"mediaOut bitrates ok", `{"mediaOut":` + mediaOutWith(`"bitrate":["x0.8",500,1.5]`) + `}`, ""},
		{"mediaOut bitrate zero", `{"mediaOut":` + mediaOutWith(`"bitrate":[0]`) + `}`, "mediaOut.video.parameters.bitrate[0] must be a multiplier"},
		{"mediaOut bitrate x0", `{"mediaOut":` + mediaOutWith(`"bitrate":["x0"]`) + `}`, "bitrate[0] must be a multiplier"},
		{"mediaOut bitrate xabc", `{"mediaOut":` + mediaOutWith(`"bitrate":["xabc"]`) + `}`, "bitrate[0] must be a multiplier"},
		// Cross-check.
		{"view audio not in mediaOut", `{"views":[{"audio":{"format":{"codec":"opus","sampleRate":48000,"channelNum":1}}}]}`, MsgMediaOutConflict},
		{"view video not in mediaOut", `{"views":[{"video":{"format":{"codec":"h264","profile":"H"}}}]}`, MsgMediaOutConflict},
		{"view video h264 CB ok", `{"views":[{"video":{"format":{"codec":"h264","profile":"CB"}}}]}`, ""},
		{"audio-only view skips video check", `{"views":[{"video":false}],"mediaOut":` + mediaOutFormats(``) + `}`, ""},
		// SIP.
		{"sip field type", `{"sip":{"sipServer":1}}`, "sip.sipServer must be a string"},
		{"sip too long", `{"sip":{"password":"` + strings.Repeat("p", 1025) + `"}}`, "sip.password must be at most 1024 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCreate([]byte(`{"name":"room","options":` + tc.options + `}`))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			assertBadRequest(t, err, tc.want)
		})
	}
}

func TestRoomCreateBody(t *testing.T) {
	tests := []struct{ body, want string }{
		{`not json`, "request body is not valid JSON"},
		{`{"name":"a"} {}`, "data after the JSON value"},
		{`"a"`, "request body must be a JSON object"},
		{`{}`, "name must be a non-empty string"},
		{`{"name":""}`, "name must be a non-empty string"},
		{`{"name":7}`, "name must be a non-empty string"},
		{`{"name":"` + strings.Repeat("n", 129) + `"}`, "name must be at most 128 characters"},
		{`{"name":"a","options":[]}`, "options must be an object"},
		{`{"name":"a","extra":1}`, "unknown key extra"},
		{`{"name":"a","options":{"views":[{"label":"x","video":{"maxInput":1e400}}]}}`, "views[0].video.maxInput must be an integer"},
		{`{"name":"a","options":{"views":[{"video":{"motionFactor":1e400}}]}}`, "views[0].video.motionFactor is out of range"},
	}
	for _, tc := range tests {
		_, err := ParseCreate([]byte(tc.body))
		assertBadRequest(t, err, tc.want)
	}
	_, err := ParseCreate([]byte(`{"name":"a","pad":"` + strings.Repeat(" ", MaxBodySize) + `"}`))
	if e := errs.As(err); e.Status != http.StatusRequestEntityTooLarge || e.Code != errs.CodeBadRequest || !strings.Contains(e.Message, "larger than") {
		t.Fatalf("oversized room: %v, want 413/1301", err)
	}
	if _, err := ParseCreate([]byte(`{"name":"` + strings.Repeat("é", 128) + `"}`)); err != nil {
		t.Fatalf("128-character name rejected: %v", err)
	}
}

// customTemplate returns a one-region custom template whose left edge is left (JSON).
func customTemplate(left string) string {
	return `{"region":[{"id":"1","area":{"left":` + left + `,"top":"0","width":"1/2","height":"1"}}]}`
}

// mediaOutWith returns the default mediaOut with extra video parameters.
func mediaOutWith(params string) string {
	return `{"audio":[{"codec":"opus","sampleRate":48000,"channelNum":2}],"video":{"format":[{"codec":"vp8"}],"parameters":{` + params + `}}}`
}

// mediaOutFormats returns a mediaOut with the given video formats.
func mediaOutFormats(formats string) string {
	return `{"audio":[{"codec":"opus","sampleRate":48000,"channelNum":2}],"video":{"format":[` + formats + `]}}`
}

func TestRoomResolveResolution(t *testing.T) {
	base := Resolution{1280, 720}
	tests := []struct {
		spec string
		want Resolution
		ok   bool
	}{
		{"hd1080p", Resolution{1920, 1080}, true},
		{"hd720p", Resolution{1280, 720}, true},
		{"svga", Resolution{800, 600}, true},
		{"vga", Resolution{640, 480}, true},
		{"qvga", Resolution{320, 240}, true},
		{"cif", Resolution{352, 288}, true},
		{"xga", Resolution{1024, 768}, true},
		{"sif", Resolution{352, 240}, true},
		{"r640x360", Resolution{640, 360}, true},
		{"x3/4", Resolution{960, 540}, true},
		{"x2/3", Resolution{853, 480}, true},
		{"x1/2", Resolution{640, 360}, true},
		{"x1/3", Resolution{426, 240}, true},
		{"x1/4", Resolution{320, 180}, true},
		{"x1/1", Resolution{1280, 720}, true},
		{"x4/3", Resolution{}, false},
		{"x0/3", Resolution{}, false},
		{"x1/0", Resolution{}, false},
		{"x1/2000", Resolution{}, false},
		{"x-1/2", Resolution{}, false},
		{"r0x360", Resolution{}, false},
		{"r640x", Resolution{}, false},
		{"r99999x1", Resolution{}, false},
		{"VGA", Resolution{}, false},
		{"", Resolution{}, false},
	}
	for _, tc := range tests {
		got, ok := ResolveResolution(tc.spec, base)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ResolveResolution(%q) = %v, %v; want %v, %v", tc.spec, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRoomFraction(t *testing.T) {
	tests := []struct {
		in   Fraction
		want float64
		ok   bool
	}{
		{"0", 0, true}, {"1", 1, true}, {"1/3", 1.0 / 3, true}, {"0.25", 0.25, true}, {"2/4", 0.5, true},
		{".5", 0.5, true}, {"2", 0, false}, {"a/b", 0, false}, {"1/0", 0, false}, {"-1", 0, false},
		{"1e-1", 0, false}, {"", 0, false}, {"1/2/3", 0, false}, {"0x1", 0, false}, {" 1", 0, false},
	}
	for _, tc := range tests {
		got, ok := tc.in.Float()
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("Fraction(%q).Float() = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRoomValidParameterHelpers(t *testing.T) {
	if !ValidFramerate(30) || ValidFramerate(25) || !ValidKeyFrameInterval(5) || ValidKeyFrameInterval(10) {
		t.Fatal("parameter helpers disagree with OWT's lists")
	}
}
