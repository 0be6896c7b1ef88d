package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Track modes of a streaming-in (OWT accepts 'auto', true and false; the management API
// normalises them to these words).
const (
	TrackAuto = "auto"
	TrackYes  = "yes"
	TrackNo   = "no"
)

// AudioFormat is an OWT audio format (codec/sampleRate/channelNum).
type AudioFormat struct {
	Codec      string `json:"codec"`
	SampleRate int    `json:"sampleRate,omitempty"`
	ChannelNum int    `json:"channelNum,omitempty"`
}

// VideoFormat is an OWT video format (codec/profile).
type VideoFormat struct {
	Codec   string `json:"codec"`
	Profile string `json:"profile,omitempty"`
}

// Resolution is a video size in pixels.
type Resolution struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// Bitrate is either an absolute bitrate in kbps or a multiple of the source bitrate written
// as OWT does ("x0.8").
type Bitrate struct {
	Kbps     float64
	Multiple string
}

// MarshalJSON writes the multiple as a string, otherwise the number.
func (b Bitrate) MarshalJSON() ([]byte, error) {
	if b.Multiple != "" {
		return json.Marshal(b.Multiple)
	}
	return json.Marshal(b.Kbps)
}

// UnmarshalJSON accepts a number or a string.
func (b *Bitrate) UnmarshalJSON(data []byte) error {
	if len(data) > 0 && data[0] == '"' {
		*b = Bitrate{}
		return json.Unmarshal(data, &b.Multiple)
	}
	f, err := strconv.ParseFloat(string(data), 64)
	if err != nil {
		return fmt.Errorf("bitrate must be a number or a string: %w", err)
	}
	*b = Bitrate{Kbps: f}
	return nil
}

// VideoParameters are the requested output parameters of a subscription; zero values are
// "as the source".
type VideoParameters struct {
	Resolution       *Resolution `json:"resolution,omitempty"`
	Framerate        int         `json:"framerate,omitempty"`
	Bitrate          *Bitrate    `json:"bitrate,omitempty"`
	KeyFrameInterval int         `json:"keyFrameInterval,omitempty"`
}

// OutAudio selects the audio of a server-side subscription.
type OutAudio struct {
	From   string       `json:"from"`
	Format *AudioFormat `json:"format,omitempty"`
}

// OutVideo selects the video of a server-side subscription.
type OutVideo struct {
	From       string           `json:"from"`
	Format     *VideoFormat     `json:"format,omitempty"`
	Parameters *VideoParameters `json:"parameters,omitempty"`
}

// OutMedia is OWT's MediaSubOptions: each kind is an object or false (nil here).
type OutMedia struct {
	Audio *OutAudio
	Video *OutVideo
}

// outMediaJSON is the wire form of OutMedia.
type outMediaJSON struct {
	Audio json.RawMessage `json:"audio"`
	Video json.RawMessage `json:"video"`
}

var jsonFalse = json.RawMessage("false")

// MarshalJSON writes absent kinds as false, as OWT does.
func (m OutMedia) MarshalJSON() ([]byte, error) {
	w := outMediaJSON{Audio: jsonFalse, Video: jsonFalse}
	var err error
	if m.Audio != nil {
		if w.Audio, err = json.Marshal(m.Audio); err != nil {
			return nil, err
		}
	}
	if m.Video != nil {
		if w.Video, err = json.Marshal(m.Video); err != nil {
			return nil, err
		}
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads each kind as an object, or false/null/absent for none.
func (m *OutMedia) UnmarshalJSON(data []byte) error {
	var w outMediaJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*m = OutMedia{}
	if !isFalsy(w.Audio) {
		m.Audio = new(OutAudio)
		if err := json.Unmarshal(w.Audio, m.Audio); err != nil {
			return fmt.Errorf("media.audio: %w", err)
		}
	}
	if !isFalsy(w.Video) {
		m.Video = new(OutVideo)
		if err := json.Unmarshal(w.Video, m.Video); err != nil {
			return fmt.Errorf("media.video: %w", err)
		}
	}
	return nil
}

func isFalsy(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("false")) || bytes.Equal(t, []byte("null"))
}
