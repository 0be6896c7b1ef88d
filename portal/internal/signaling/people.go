package signaling

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/portal/internal/check"
)

// People requests (a Conclave extension of OWT signaling, after seed 004's update-name and
// update-mediaState; docs/people.md).
const (
	EvUpdateName       = "update-name"
	EvUpdateMediaState = "update-mediaState"
)

// Validation messages of the people requests.
const (
	MsgDisplayName = "Invalid name: 1 to 64 characters, no control characters"
	MsgMediaState  = "Invalid media state: {cameraEnabled?, microphoneEnabled?} booleans"
)

// MaxDisplayName bounds a display name, in characters.
const MaxDisplayName = 64

// DecodeUpdateName validates update-name: the name as a string, or {name}. Surrounding
// spaces are trimmed.
func DecodeUpdateName(raw json.RawMessage) (string, error) {
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		req, err := check.Object(raw, check.Root)
		if err != nil {
			return "", Failure(MsgDisplayName)
		}
		s, ok, err := req.String("name")
		if err != nil || !ok || req.Only("name") != nil {
			return "", Failure(MsgDisplayName)
		}
		name = s
	}
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxDisplayName ||
		strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", Failure(MsgDisplayName)
	}
	return name, nil
}

// DecodeMediaState validates update-mediaState {cameraEnabled?, microphoneEnabled?} (at least
// one).
func DecodeMediaState(raw json.RawMessage) (camera, microphone *bool, err error) {
	req, err := check.Object(raw, check.Root)
	if err != nil || req.Only("cameraEnabled", "microphoneEnabled") != nil {
		return nil, nil, Failure(MsgMediaState)
	}
	get := func(key string) (*bool, error) {
		if !req.Has(key) {
			return nil, nil
		}
		v, err := req.Bool(key)
		if err != nil {
			return nil, Failure(MsgMediaState)
		}
		return &v, nil
	}
	if camera, err = get("cameraEnabled"); err != nil {
		return nil, nil, err
	}
	if microphone, err = get("microphoneEnabled"); err != nil {
		return nil, nil, err
	}
	if camera == nil && microphone == nil {
		return nil, nil, Failure(MsgMediaState)
	}
	return camera, microphone, nil
}

// updateName handles update-name.
func (s *Session) updateName(c *Client, raw json.RawMessage, ack Ack) {
	name, err := DecodeUpdateName(raw)
	if err != nil {
		_ = ack("error", err.Error())
		return
	}
	req := protocol.ParticipantUpdateRequest{RoomID: c.roomID, ParticipantID: c.id, Name: &name}
	answer(ack, s.call(c, protocol.MethodParticipantUpdate, req, nil))
}

// updateMediaState handles update-mediaState.
func (s *Session) updateMediaState(c *Client, raw json.RawMessage, ack Ack) {
	camera, mic, err := DecodeMediaState(raw)
	if err != nil {
		_ = ack("error", err.Error())
		return
	}
	req := protocol.ParticipantUpdateRequest{RoomID: c.roomID, ParticipantID: c.id, Camera: camera, Microphone: mic}
	answer(ack, s.call(c, protocol.MethodParticipantUpdate, req, nil))
}
