package validate

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// Allowed values from the OWT media constraints (REST guide §6, owt-protocol.md §5.1).
var (
	audioCodecs       = []string{"pcmu", "pcma", "opus", "g722", "isac", "ilbc", "aac", "ac3", "nellymoser"}
	videoCodecs       = []string{"h264", "h265", "vp8", "vp9", "av1"}
	h264Profiles      = []string{"CB", "B", "M", "H"}
	framerates        = []int{6, 12, 15, 24, 30, 48, 60}
	keyFrameIntervals = []int{1, 2, 5, 30, 100}
	bitrateMultiples  = []string{"x0.8", "x0.6", "x0.4", "x0.2"}
)

// maxIDLen bounds stream ids and similar strings taken from bodies.
const maxIDLen = 256

// mediaJSON is MediaSubOptions with each kind still raw (object or false).
type mediaJSON struct {
	Audio json.RawMessage `json:"audio"`
	Video json.RawMessage `json:"video"`
}

// outMedia validates a MediaSubOptions object at field (e.g. "media"). At least one kind must
// be present; audio-only callers pass needVideo=false.
func outMedia(raw json.RawMessage, field string) (protocol.OutMedia, error) {
	if absent(raw) {
		return protocol.OutMedia{}, required(field)
	}
	var m mediaJSON
	if err := strict(raw, &m, field); err != nil {
		return protocol.OutMedia{}, err
	}
	var out protocol.OutMedia
	var err error
	if out.Audio, err = outAudio(m.Audio, field+".audio"); err != nil {
		return out, err
	}
	if out.Video, err = outVideo(m.Video, field+".video"); err != nil {
		return out, err
	}
	if out.Audio == nil && out.Video == nil {
		return out, invalid(field, "audio or video is required")
	}
	return out, nil
}

func outAudio(raw json.RawMessage, field string) (*protocol.OutAudio, error) {
	if absent(raw) || isFalse(raw) {
		return nil, nil
	}
	a := new(protocol.OutAudio)
	if err := strict(raw, a, field); err != nil {
		return nil, err
	}
	if err := streamID(a.From, field+".from"); err != nil {
		return nil, err
	}
	if a.Format != nil {
		if err := audioFormat(*a.Format, field+".format"); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func outVideo(raw json.RawMessage, field string) (*protocol.OutVideo, error) {
	if absent(raw) || isFalse(raw) {
		return nil, nil
	}
	v := new(protocol.OutVideo)
	if err := strict(raw, v, field); err != nil {
		return nil, err
	}
	if err := streamID(v.From, field+".from"); err != nil {
		return nil, err
	}
	if v.Format != nil {
		if err := videoFormat(*v.Format, field+".format"); err != nil {
			return nil, err
		}
	}
	if v.Parameters != nil {
		if err := videoParameters(*v.Parameters, field+".parameters"); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func streamID(id, field string) error {
	if id == "" {
		return required(field)
	}
	if len(id) > maxIDLen {
		return invalid(field, "too long")
	}
	return nil
}

func audioFormat(f protocol.AudioFormat, field string) error {
	if !slices.Contains(audioCodecs, strings.ToLower(f.Codec)) {
		return invalid(field+".codec", "one of "+strings.Join(audioCodecs, ", "))
	}
	if f.SampleRate < 0 || f.ChannelNum < 0 {
		return invalid(field, "sampleRate and channelNum must be positive")
	}
	return nil
}

func videoFormat(f protocol.VideoFormat, field string) error {
	if !slices.Contains(videoCodecs, strings.ToLower(f.Codec)) {
		return invalid(field+".codec", "one of "+strings.Join(videoCodecs, ", "))
	}
	if f.Profile != "" && !slices.Contains(h264Profiles, f.Profile) {
		return invalid(field+".profile", "one of "+strings.Join(h264Profiles, ", "))
	}
	return nil
}

func videoParameters(p protocol.VideoParameters, field string) error {
	if p.Resolution != nil {
		if err := resolution(*p.Resolution, field+".resolution"); err != nil {
			return err
		}
	}
	if p.Framerate != 0 && !slices.Contains(framerates, p.Framerate) {
		return invalid(field+".framerate", "one of 6, 12, 15, 24, 30, 48, 60")
	}
	if p.KeyFrameInterval != 0 && !slices.Contains(keyFrameIntervals, p.KeyFrameInterval) {
		return invalid(field+".keyFrameInterval", "one of 1, 2, 5, 30, 100")
	}
	if p.Bitrate != nil {
		return bitrate(*p.Bitrate, field+".bitrate")
	}
	return nil
}

func resolution(r protocol.Resolution, field string) error {
	if r.Width <= 0 || r.Height <= 0 || r.Width > 16384 || r.Height > 16384 {
		return invalid(field, "width and height must be positive integers")
	}
	return nil
}

// bitrate accepts a positive kbps number or a multiple "x<factor>" with 0 < factor <= 10.
func bitrate(b protocol.Bitrate, field string) error {
	if b.Multiple == "" {
		if b.Kbps <= 0 || b.Kbps > 1e6 {
			return invalid(field, "a positive number of kbps or a multiple such as \"x0.8\"")
		}
		return nil
	}
	f, err := strconv.ParseFloat(strings.TrimPrefix(b.Multiple, "x"), 64)
	if !strings.HasPrefix(b.Multiple, "x") || err != nil || f <= 0 || f > 10 {
		return invalid(field, "a positive number of kbps or a multiple such as \"x0.8\"")
	}
	return nil
}
