package room

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/conclave-rtc/conclave/common/errs"
)

// Size limits that keep a hostile room document small.
const (
	MaxNameLen         = 128 // characters of a room name, role name, view label or region id
	MaxRoles           = 64
	MaxViews           = 16
	MaxCustomTemplates = 64 // per view
	MaxRegions         = 256
	MaxListLen         = 64 // entries of each mediaIn / mediaOut list
	maxTextLen         = 1024
	maxMaxInput        = 256
)

// Allowed values of enumerated fields (treat as constants).
var (
	audioCodecs       = []string{"opus", "pcmu", "pcma", "aac", "ac3", "nellymoser", "isac", "ilbc", "g722"}
	videoCodecs       = []string{"h264", "h265", "vp8", "vp9", "av1"}
	h264Profiles      = []string{"CB", "B", "M", "H"}
	framerates        = []int{6, 12, 15, 24, 30, 48, 60}
	keyFrameIntervals = []int{100, 30, 5, 2, 1}
	fitPolicies       = []string{"letterbox", "crop"}
	templateBases     = []string{"fluid", "lecture", "void"}
)

// ValidFramerate reports whether fps is one of OWT's frame rates (6, 12, 15, 24, 30, 48, 60).
func ValidFramerate(fps int) bool { return slices.Contains(framerates, fps) }

// ValidKeyFrameInterval reports whether seconds is one of OWT's key frame intervals
// (100, 30, 5, 2, 1).
func ValidKeyFrameInterval(seconds int) bool { return slices.Contains(keyFrameIntervals, seconds) }

// Validate checks every rule of the room model and returns an *errs.Error (400, code 1301)
// whose message names the first offending field, or OWT's MsgMediaOutConflict.
func (r Room) Validate() error {
	for _, check := range []func() error{
		r.validateBasics, r.validateRoles, r.validateViews,
		r.validateMediaIn, r.validateMediaOut, r.validateSIP, r.checkMediaOut, r.validatePath,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// bad returns a 400 error about the field at path.
func bad(path, format string, args ...any) error {
	return errs.BadRequest(path + " " + fmt.Sprintf(format, args...))
}

// nameCheck validates a required identifier-like string.
func nameCheck(path, s string) error {
	if s == "" {
		return bad(path, "must not be empty")
	}
	if utf8.RuneCountInString(s) > MaxNameLen {
		return bad(path, "must be at most %d characters", MaxNameLen)
	}
	return CheckText(path, s)
}

// CheckText rejects a name, key or label that is not printable text: invalid UTF-8 (or the
// U+FFFD a JSON decoder puts in its place) or control characters such as NUL. Such values
// break logs, files and other clients, and are never what an operator meant. The error is a
// 400/1301 naming the field.
func CheckText(field, s string) error {
	if !utf8.ValidString(s) {
		return bad(field, "must be valid UTF-8")
	}
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			return bad(field, "must be valid UTF-8")
		case unicode.IsControl(r):
			return bad(field, "must not contain control characters")
		}
	}
	return nil
}

// oneOf checks that v is in allowed.
func oneOf[T comparable](path string, v T, allowed []T) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return bad(path, "must be one of %s", joinValues(allowed))
}

func joinValues[T any](vs []T) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, ", ")
}

// between checks lo <= v <= hi.
func between(path string, v, lo, hi int) error {
	if v < lo || v > hi {
		return bad(path, "must be between %d and %d", lo, hi)
	}
	return nil
}

// maxLen checks the length of a list.
func maxLen(path string, n, limit int) error {
	if n > limit {
		return bad(path, "must have at most %d entries", limit)
	}
	return nil
}

func (r Room) validatePath() error {
	if r.Path == "" {
		return nil
	}
	return CheckPath("path", r.Path)
}

func (r Room) validateBasics() error {
	if err := nameCheck("name", r.Name); err != nil {
		return err
	}
	if r.InputLimit < Unlimited {
		return bad("inputLimit", "must be an integer >= -1")
	}
	if r.ParticipantLimit < Unlimited {
		return bad("participantLimit", "must be an integer >= -1")
	}
	return nil
}

func (r Room) validateRoles() error {
	if err := maxLen("roles", len(r.Roles), MaxRoles); err != nil {
		return err
	}
	seen := make(map[string]bool, len(r.Roles))
	for i, role := range r.Roles {
		path := fmt.Sprintf("roles[%d].role", i)
		if err := nameCheck(path, role.Role); err != nil {
			return err
		}
		if seen[role.Role] {
			return bad(path, "%q is defined twice", role.Role)
		}
		seen[role.Role] = true
	}
	return nil
}

func (r Room) validateViews() error {
	if err := maxLen("views", len(r.Views), MaxViews); err != nil {
		return err
	}
	if r.AutoMix && len(r.Views) == 0 {
		return bad("autoMix", "needs at least one view")
	}
	seen := make(map[string]bool, len(r.Views))
	for i, v := range r.Views {
		path := fmt.Sprintf("views[%d]", i)
		if err := nameCheck(path+".label", v.Label); err != nil {
			return err
		}
		if seen[v.Label] {
			return bad(path+".label", "%q is used by two views", v.Label)
		}
		seen[v.Label] = true
		if err := validateAudioFormat(path+".audio.format", v.Audio.Format); err != nil {
			return err
		}
		if v.Video != nil {
			if err := v.Video.validate(path + ".video"); err != nil {
				return err
			}
		}
	}
	return nil
}

func validateAudioFormat(path string, f AudioFormat) error {
	if err := oneOf(path+".codec", f.Codec, audioCodecs); err != nil {
		return err
	}
	if err := between(path+".sampleRate", f.SampleRate, 0, 384000); err != nil {
		return err
	}
	return between(path+".channelNum", f.ChannelNum, 0, 8)
}

func validateVideoFormat(path string, f VideoFormat) error {
	if err := oneOf(path+".codec", f.Codec, videoCodecs); err != nil {
		return err
	}
	if f.Profile == "" {
		return nil
	}
	if f.Codec != "h264" {
		return bad(path+".profile", "is only allowed for h264")
	}
	return oneOf(path+".profile", f.Profile, h264Profiles)
}

func (v ViewVideo) validate(path string) error {
	if err := validateVideoFormat(path+".format", v.Format); err != nil {
		return err
	}
	if err := v.Parameters.validate(path + ".parameters"); err != nil {
		return err
	}
	if err := between(path+".maxInput", v.MaxInput, 1, maxMaxInput); err != nil {
		return err
	}
	if v.MotionFactor < 0 {
		return bad(path+".motionFactor", "must not be negative")
	}
	for _, c := range []struct {
		name  string
		value int
	}{{"r", v.BgColor.R}, {"g", v.BgColor.G}, {"b", v.BgColor.B}} {
		if err := between(path+".bgColor."+c.name, c.value, 0, 255); err != nil {
			return err
		}
	}
	return v.Layout.validate(path + ".layout")
}

func (p ViewVideoParameters) validate(path string) error {
	if err := between(path+".resolution.width", p.Resolution.Width, 1, maxDimension); err != nil {
		return err
	}
	if err := between(path+".resolution.height", p.Resolution.Height, 1, maxDimension); err != nil {
		return err
	}
	if err := oneOf(path+".framerate", p.Framerate, framerates); err != nil {
		return err
	}
	if err := between(path+".bitrate", p.Bitrate, 0, 1_000_000); err != nil {
		return err
	}
	return oneOf(path+".keyFrameInterval", p.KeyFrameInterval, keyFrameIntervals)
}

func (l Layout) validate(path string) error {
	if err := oneOf(path+".fitPolicy", l.FitPolicy, fitPolicies); err != nil {
		return err
	}
	if len(l.SetRegionEffect) > MaxNameLen {
		return bad(path+".setRegionEffect", "must be at most %d characters", MaxNameLen)
	}
	if err := oneOf(path+".templates.base", l.Templates.Base, templateBases); err != nil {
		return err
	}
	custom := l.Templates.Custom
	if err := maxLen(path+".templates.custom", len(custom), MaxCustomTemplates); err != nil {
		return err
	}
	for i, t := range custom {
		if err := t.validate(fmt.Sprintf("%s.templates.custom[%d]", path, i)); err != nil {
			return err
		}
	}
	return nil
}

func (t CustomTemplate) validate(path string) error {
	if len(t.Primary) > MaxNameLen {
		return bad(path+".primary", "must be at most %d characters", MaxNameLen)
	}
	if len(t.Region) == 0 {
		return bad(path+".region", "must not be empty")
	}
	if err := maxLen(path+".region", len(t.Region), MaxRegions); err != nil {
		return err
	}
	for i, reg := range t.Region {
		if err := reg.validate(fmt.Sprintf("%s.region[%d]", path, i)); err != nil {
			return err
		}
	}
	return nil
}

func (reg Region) validate(path string) error {
	if err := nameCheck(path+".id", reg.ID); err != nil {
		return err
	}
	if reg.Shape != ShapeRectangle {
		return bad(path+".shape", "must be %q", ShapeRectangle)
	}
	for _, side := range []struct {
		name string
		f    Fraction
	}{{"left", reg.Area.Left}, {"top", reg.Area.Top}, {"width", reg.Area.Width}, {"height", reg.Area.Height}} {
		if side.f == "" {
			return bad(path+".area."+side.name, "is required")
		}
		if _, ok := side.f.Float(); !ok {
			return bad(path+".area."+side.name, "must be a fraction in [0, 1] such as \"1/3\", not %q", side.f)
		}
	}
	return nil
}

func (r Room) validateMediaIn() error {
	return validateFormatLists("mediaIn", r.MediaIn.Audio, r.MediaIn.Video)
}

// validateFormatLists checks an audio and a video format list under prefix.
func validateFormatLists(prefix string, audio []AudioFormat, video []VideoFormat) error {
	videoPath := prefix + ".video"
	if prefix == "mediaOut" {
		videoPath = prefix + ".video.format"
	}
	if err := maxLen(prefix+".audio", len(audio), MaxListLen); err != nil {
		return err
	}
	for i, f := range audio {
		if err := validateAudioFormat(fmt.Sprintf("%s.audio[%d]", prefix, i), f); err != nil {
			return err
		}
	}
	if err := maxLen(videoPath, len(video), MaxListLen); err != nil {
		return err
	}
	for i, f := range video {
		if err := validateVideoFormat(fmt.Sprintf("%s[%d]", videoPath, i), f); err != nil {
			return err
		}
	}
	return nil
}

func (r Room) validateMediaOut() error {
	if err := validateFormatLists("mediaOut", r.MediaOut.Audio, r.MediaOut.Video.Format); err != nil {
		return err
	}
	p := r.MediaOut.Video.Parameters
	const path = "mediaOut.video.parameters"
	for _, n := range []int{len(p.Resolution), len(p.Framerate), len(p.Bitrate), len(p.KeyFrameInterval)} {
		if err := maxLen(path, n, MaxListLen); err != nil {
			return err
		}
	}
	for i, spec := range p.Resolution {
		if !validResolutionSpec(spec) {
			return bad(fmt.Sprintf("%s.resolution[%d]", path, i),
				"must be a resolution name (vga, hd720p, …), r<W>x<H> or a scale x<N>/<M>, not %q", spec)
		}
	}
	for i, fr := range p.Framerate {
		if err := oneOf(fmt.Sprintf("%s.framerate[%d]", path, i), fr, framerates); err != nil {
			return err
		}
	}
	for i, b := range p.Bitrate {
		if !b.valid() {
			return bad(fmt.Sprintf("%s.bitrate[%d]", path, i), "must be a multiplier like \"x0.8\" or a positive number, not %q", string(b))
		}
	}
	for i, k := range p.KeyFrameInterval {
		if err := oneOf(fmt.Sprintf("%s.keyFrameInterval[%d]", path, i), k, keyFrameIntervals); err != nil {
			return err
		}
	}
	return nil
}

// valid reports whether b is "x" followed by a positive number, or a positive number.
func (b Bitrate) valid() bool {
	s, isMultiplier := strings.CutPrefix(string(b), "x")
	if isMultiplier {
		v, ok := decimal(s)
		return ok && v > 0
	}
	if !isJSONNumber(s) {
		return false
	}
	v, err := strconv.ParseFloat(s, 64)
	return err == nil && v > 0
}

func (r Room) validateSIP() error {
	if r.SIP == nil {
		return nil
	}
	for _, f := range []struct{ name, value string }{
		{"sipServer", r.SIP.SipServer}, {"username", r.SIP.Username}, {"password", r.SIP.Password},
	} {
		if len(f.value) > maxTextLen {
			return bad("sip."+f.name, "must be at most %d bytes", maxTextLen)
		}
	}
	return nil
}

// checkMediaOut is OWT's cross-check: a view may only use formats mediaOut offers.
func (r Room) checkMediaOut() error {
	for _, v := range r.Views {
		if !slices.Contains(r.MediaOut.Audio, v.Audio.Format) {
			return errs.BadRequest(MsgMediaOutConflict)
		}
		if v.Video != nil && !slices.Contains(r.MediaOut.Video.Format, v.Video.Format) {
			return errs.BadRequest(MsgMediaOutConflict)
		}
	}
	return nil
}
