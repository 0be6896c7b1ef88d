package room

import (
	"bytes"
	"encoding/json"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// Control operations (owt-protocol.md §4.3 stream-control, subscription-control).
const (
	opPause     = "pause"
	opPlay      = "play"
	opMix       = "mix"
	opUnmix     = "unmix"
	opGetRegion = "get-region"
	opSetRegion = "set-region"
	opUpdate    = "update"
)

// maxLabelLength bounds view labels and region ids taken from clients.
const maxLabelLength = 256

// streamCommand is a decoded stream-control request.
type streamCommand struct {
	op     string
	kind   string // pause, play: audio, video or av
	view   string // mix, unmix, get-region, set-region
	region string // set-region
}

// parseStreamControl decodes the data of a stream-control operation.
func parseStreamControl(op string, data json.RawMessage) (streamCommand, error) {
	cmd := streamCommand{op: op}
	switch op {
	case opPause, opPlay:
		kind, err := decodeKind(data)
		cmd.kind = kind
		return cmd, err
	case opMix, opUnmix, opGetRegion:
		view, err := decodeLabel(data)
		cmd.view = view
		return cmd, err
	case opSetRegion:
		var v struct {
			View   string `json:"view"`
			Region string `json:"region"`
		}
		if err := strictJSON(data, &v); err != nil || !validLabel(v.View) || !validLabel(v.Region) {
			return cmd, failure(msgInvalidControl)
		}
		cmd.view, cmd.region = v.View, v.Region
		return cmd, nil
	}
	return cmd, failure(msgInvalidStreamOp)
}

// decodeKind reads "audio", "video" or "av".
func decodeKind(data json.RawMessage) (string, error) {
	var kind string
	if err := json.Unmarshal(data, &kind); err != nil {
		return "", failure(msgInvalidControl)
	}
	switch kind {
	case kindAudio, kindVideo, kindAV:
		return kind, nil
	}
	return "", failure(msgInvalidControl)
}

// decodeLabel reads a non-empty view label.
func decodeLabel(data json.RawMessage) (string, error) {
	var label string
	if err := json.Unmarshal(data, &label); err != nil || !validLabel(label) {
		return "", failure(msgInvalidControl)
	}
	return label, nil
}

func validLabel(s string) bool { return s != "" && len(s) <= maxLabelLength }

// strictJSON decodes an object rejecting unknown keys.
func strictJSON(data json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// subscriptionUpdate is the data of a subscription-control `update`.
type subscriptionUpdate struct {
	Audio *struct {
		From string `json:"from"`
	} `json:"audio,omitempty"`
	Video *struct {
		From       string                    `json:"from,omitempty"`
		Parameters *protocol.VideoParameters `json:"parameters,omitempty"`
	} `json:"video,omitempty"`
}

// parseSubscriptionUpdate decodes and checks the data of a subscription `update`: at least
// one kind, and no negative parameters.
func parseSubscriptionUpdate(data json.RawMessage) (subscriptionUpdate, error) {
	var u subscriptionUpdate
	if err := strictJSON(data, &u); err != nil || (u.Audio == nil && u.Video == nil) {
		return subscriptionUpdate{}, failure(msgInvalidControl)
	}
	if u.Audio != nil && len(u.Audio.From) > maxLabelLength {
		return subscriptionUpdate{}, failure(msgInvalidControl)
	}
	if v := u.Video; v != nil {
		if len(v.From) > maxLabelLength || (v.Parameters != nil && !validParameters(*v.Parameters)) {
			return subscriptionUpdate{}, failure(msgInvalidControl)
		}
	}
	return u, nil
}

// validParameters rejects negative or zero-sized values.
func validParameters(p protocol.VideoParameters) bool {
	if p.Resolution != nil && (p.Resolution.Width <= 0 || p.Resolution.Height <= 0) {
		return false
	}
	if p.Bitrate != nil && p.Bitrate.Multiple == "" && p.Bitrate.Kbps <= 0 {
		return false
	}
	return p.Framerate >= 0 && p.KeyFrameInterval >= 0
}

// controlKinds expands "av" into the kinds present, in OWT's order (audio first).
func controlKinds(kind string, has func(string) bool) []string {
	var out []string
	for _, k := range []string{kindAudio, kindVideo} {
		if (kind == k || kind == kindAV) && has(k) {
			out = append(out, k)
		}
	}
	return out
}

// rtcKind names kinds for rtc.control.
func rtcKind(kinds []string) string {
	if len(kinds) == 2 {
		return kindAV
	}
	return kinds[0]
}
