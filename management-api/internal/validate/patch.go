package validate

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// maxOps bounds the number of operations of one PATCH body.
const maxOps = 64

// opJSON is one PATCH operation as sent.
type opJSON struct {
	Op    *string         `json:"op"`
	Path  *string         `json:"path"`
	Value json.RawMessage `json:"value"`
}

// opCheck validates the value of one operation whose op and path are known.
type opCheck func(op, path string, value json.RawMessage, field string) error

// patch decodes a PATCH array and runs check on each operation.
func patch(data []byte, check opCheck) ([]protocol.PatchOp, error) {
	var in []opJSON
	if err := strict(data, &in, ""); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, invalid("request body", "a non-empty array of operations")
	}
	if len(in) > maxOps {
		return nil, invalid("request body", fmt.Sprintf("at most %d operations", maxOps))
	}
	out := make([]protocol.PatchOp, 0, len(in))
	for i, o := range in {
		field := "[" + strconv.Itoa(i) + "]"
		if o.Op == nil || o.Path == nil {
			return nil, required(field + ".op and " + field + ".path")
		}
		if absent(o.Value) {
			return nil, required(field + ".value")
		}
		if err := check(*o.Op, *o.Path, o.Value, field); err != nil {
			return nil, err
		}
		out = append(out, protocol.PatchOp{Op: *o.Op, Path: *o.Path, Value: o.Value})
	}
	return out, nil
}

func requireReplace(op, field string) error {
	if op != "replace" {
		return invalid(field+".op", `"replace"`)
	}
	return nil
}

// ParticipantOps validates a PATCH /participants/{id} body: permission updates.
func ParticipantOps(data []byte) ([]protocol.PatchOp, error) {
	return patch(data, participantOp)
}

func participantOp(op, path string, value json.RawMessage, field string) error {
	if err := requireReplace(op, field); err != nil {
		return err
	}
	switch path {
	case "/permission/publish", "/permission/subscribe":
		var v struct {
			Audio *bool `json:"audio"`
			Video *bool `json:"video"`
		}
		if err := strict(value, &v, field+".value"); err != nil {
			return err
		}
		if v.Audio == nil || v.Video == nil {
			return required(field + ".value.audio and " + field + ".value.video")
		}
		return nil
	case "/permission/publish/audio", "/permission/publish/video",
		"/permission/subscribe/audio", "/permission/subscribe/video":
		return boolean(value, field+".value")
	}
	return invalid(field+".path", "/permission/publish[/audio|/video] or /permission/subscribe[/audio|/video]")
}

func boolean(value json.RawMessage, field string) error {
	var b bool
	return strict(value, &b, field)
}

// StreamOps validates a PATCH /streams/{id} body: mix, status and layout updates.
func StreamOps(data []byte) ([]protocol.PatchOp, error) { return patch(data, streamOp) }

func streamOp(op, path string, value json.RawMessage, field string) error {
	switch {
	case path == "/info/inViews":
		if op != "add" && op != "remove" {
			return invalid(field+".op", `"add" or "remove"`)
		}
		return nonEmptyString(value, field+".value")
	case path == "/media/audio/status", path == "/media/video/status":
		if err := requireReplace(op, field); err != nil {
			return err
		}
		var s string
		if err := strict(value, &s, field+".value"); err != nil {
			return err
		}
		if s != "active" && s != "inactive" {
			return invalid(field+".value", `"active" or "inactive"`)
		}
		return nil
	case path == "/info/layout":
		if err := requireReplace(op, field); err != nil {
			return err
		}
		return layout(value, field+".value")
	case strings.HasPrefix(path, "/info/layout/"):
		if err := requireReplace(op, field); err != nil {
			return err
		}
		if !regionStreamPath(path) {
			return invalid(field+".path", "/info/layout/<index>/stream")
		}
		return nonEmptyString(value, field+".value")
	}
	return invalid(field+".path", "/info/inViews, /media/audio/status, /media/video/status, /info/layout or /info/layout/<index>/stream")
}

// regionStreamPath matches /info/layout/<non-negative integer>/stream.
func regionStreamPath(path string) bool {
	idx, ok := strings.CutPrefix(path, "/info/layout/")
	if !ok {
		return false
	}
	idx, ok = strings.CutSuffix(idx, "/stream")
	if !ok || idx == "" || len(idx) > 4 {
		return false
	}
	_, err := strconv.ParseUint(idx, 10, 16)
	return err == nil
}

func nonEmptyString(value json.RawMessage, field string) error {
	var s string
	if err := strict(value, &s, field); err != nil {
		return err
	}
	if s == "" || len(s) > maxIDLen {
		return invalid(field, "a non-empty string")
	}
	return nil
}

// regionJSON is OWT's object(Region); area values are numbers or fraction strings.
type regionJSON struct {
	ID    *string `json:"id"`
	Shape string  `json:"shape"`
	Area  *struct {
		Left   json.RawMessage `json:"left"`
		Top    json.RawMessage `json:"top"`
		Width  json.RawMessage `json:"width"`
		Height json.RawMessage `json:"height"`
	} `json:"area"`
}

// layout validates a layout array: [{stream?, region}], empty regions only at the end.
func layout(value json.RawMessage, field string) error {
	var regions []struct {
		Stream *string     `json:"stream"`
		Region *regionJSON `json:"region"`
	}
	if err := strict(value, &regions, field); err != nil {
		return err
	}
	if len(regions) > 256 {
		return invalid(field, "at most 256 regions")
	}
	seenEmpty := false
	for i, r := range regions {
		f := field + "[" + strconv.Itoa(i) + "]"
		if r.Stream == nil {
			seenEmpty = true
		} else if seenEmpty {
			return invalid(f+".stream", "empty regions can only be at the end")
		}
		if err := region(r.Region, f+".region"); err != nil {
			return err
		}
	}
	return nil
}

func region(r *regionJSON, field string) error {
	if r == nil || r.ID == nil || *r.ID == "" {
		return required(field + ".id")
	}
	if r.Shape != "" && r.Shape != "rectangle" {
		return invalid(field+".shape", `"rectangle"`)
	}
	if r.Area == nil {
		return required(field + ".area")
	}
	for name, v := range map[string]json.RawMessage{"left": r.Area.Left, "top": r.Area.Top,
		"width": r.Area.Width, "height": r.Area.Height} {
		if !fraction(v) {
			return invalid(field+".area."+name, `a number or fraction string in [0, 1] such as "1/3"`)
		}
	}
	return nil
}

// fraction accepts a number in [0, 1] or a string "a/b" or "x" with that value.
func fraction(v json.RawMessage) bool {
	var f float64
	if json.Unmarshal(v, &f) == nil {
		return f >= 0 && f <= 1
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return false
	}
	num, den, isFrac := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return false
	}
	if isFrac {
		d, err := strconv.ParseFloat(den, 64)
		if err != nil || d == 0 {
			return false
		}
		n /= d
	}
	return n >= 0 && n <= 1
}

// SubscriptionOps validates a PATCH body of a streaming-out or recording (prefix "/media")
// or of a SIP call's output (prefix "/output/media").
func SubscriptionOps(data []byte, prefix string) ([]protocol.PatchOp, error) {
	return patch(data, func(op, path string, value json.RawMessage, field string) error {
		return subscriptionOp(prefix, op, path, value, field)
	})
}

func subscriptionOp(prefix, op, path string, value json.RawMessage, field string) error {
	if err := requireReplace(op, field); err != nil {
		return err
	}
	rest, ok := strings.CutPrefix(path, prefix)
	vf := field + ".value"
	switch {
	case !ok:
	case rest == "/audio/from", rest == "/video/from":
		return nonEmptyString(value, vf)
	case rest == "/video/parameters/resolution":
		var r struct {
			Width  int `json:"width"`
			Height int `json:"height"`
		}
		if err := strict(value, &r, vf); err != nil {
			return err
		}
		return resolution(protocol.Resolution{Width: r.Width, Height: r.Height}, vf)
	case rest == "/video/parameters/framerate":
		return intIn(value, vf, framerates)
	case rest == "/video/parameters/keyFrameInterval":
		return intIn(value, vf, keyFrameIntervals)
	case rest == "/video/parameters/bitrate":
		var s string
		if err := strict(value, &s, vf); err != nil {
			return err
		}
		if !slices.Contains(bitrateMultiples, s) {
			return invalid(vf, `"x0.8", "x0.6", "x0.4" or "x0.2"`)
		}
		return nil
	}
	return invalid(field+".path", prefix+"/audio/from, "+prefix+"/video/from or "+prefix+"/video/parameters/{resolution,framerate,bitrate,keyFrameInterval}")
}

func intIn(value json.RawMessage, field string, allowed []int) error {
	var n int
	if err := strict(value, &n, field); err != nil {
		return err
	}
	if !slices.Contains(allowed, n) {
		parts := make([]string, len(allowed))
		for i, a := range allowed {
			parts[i] = strconv.Itoa(a)
		}
		return invalid(field, "one of "+strings.Join(parts, ", "))
	}
	return nil
}
