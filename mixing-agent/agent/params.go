package agent

import (
	"math"
	"strings"

	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/mixing-agent/codec"
	"github.com/conclave-rtc/conclave/mixing-agent/internal/pipeline"
)

// Output defaults where the request leaves a value open.
const (
	defaultFramerate     = 24  // OWT's view default
	defaultKeyFrameSec   = 100 // OWT's view default (keyframes come mostly on request)
	defaultMotionFactor  = 0.8 // OWT's view default
	defaultAudioBitrate  = 64000
	maxDimension         = 3840
	maxFramerate         = 60
	maxKeyFrameSec       = 3600
	bitsPerPixelAtMotion = 0.1 // bits per pixel per frame at motionFactor 0.8
)

// h264ProfileLevelIDs maps OWT's H.264 profile names to the profile-level-id (level 3.1)
// advertised in the media-link Meta frame (RFC 6184 §8.1).
var h264ProfileLevelIDs = map[string]string{
	"CB": "42e01f", "B": "42001f", "M": "4d001f", "H": "64001f",
}

// videoFormat describes one video output: its encoder configuration, the track's media-link
// info and OWT format.
type videoFormat struct {
	enc    codec.VideoEncoderConfig
	format protocol.Format
	info   medialink.TrackInfo
}

// newVideoFormat checks an OWT video codec/profile and the encoding parameters (framerate in
// fps, keyframe interval in seconds as OWT gives it, bitrate in kbps with 0 = derived from
// the size and motion factor). A zero width or height stays open ("as the source").
func newVideoFormat(codecName, profile string, width, height, framerate, kfiSec, kbps int, motion float64) (videoFormat, error) {
	name := strings.ToLower(codecName)
	f := videoFormat{format: protocol.Format{Codec: name}}
	f.info = medialink.TrackInfo{Kind: "video", ClockRate: 90000}
	switch name {
	case "vp8":
		f.info.MimeType = "video/VP8"
	case "h264":
		if profile == "" {
			profile = "CB"
		}
		id, ok := h264ProfileLevelIDs[profile]
		if !ok {
			return videoFormat{}, errUnsupported("H.264 profile %q (CB, B, M or H)", profile)
		}
		f.format.Profile = profile
		f.info.MimeType = "video/H264"
		f.info.Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + id
	default:
		return videoFormat{}, errUnsupported("video codec %q (vp8 or h264)", codecName)
	}
	if width < 0 || height < 0 || width > maxDimension || height > maxDimension {
		return videoFormat{}, errUnsupported("resolution %dx%d", width, height)
	}
	if framerate == 0 {
		framerate = defaultFramerate
	}
	if framerate < 1 || framerate > maxFramerate {
		return videoFormat{}, errUnsupported("framerate %d (1..%d)", framerate, maxFramerate)
	}
	if kfiSec == 0 {
		kfiSec = defaultKeyFrameSec
	}
	if kfiSec < 1 || kfiSec > maxKeyFrameSec {
		return videoFormat{}, errUnsupported("keyFrameInterval %d s (1..%d)", kfiSec, maxKeyFrameSec)
	}
	if kbps < 0 {
		return videoFormat{}, errUnsupported("bitrate %d kbps", kbps)
	}
	if kbps == 0 {
		kbps = defaultBitrate(width, height, framerate, motion)
	}
	f.enc = codec.VideoEncoderConfig{Codec: name, Profile: f.format.Profile, Width: width, Height: height,
		Framerate: framerate, BitrateKbps: kbps, KeyFrameInterval: kfiSec * framerate}
	return f, nil
}

// defaultBitrate derives a bitrate from the picture rate: bitsPerPixelAtMotion scaled by the
// motion factor (OWT's view.video.motionFactor); an open size counts as VGA.
func defaultBitrate(w, h, fps int, motion float64) int {
	if w <= 0 || h <= 0 {
		w, h = 640, 480
	}
	if motion <= 0 {
		motion = defaultMotionFactor
	}
	bpp := bitsPerPixelAtMotion * motion / defaultMotionFactor
	return max(100, int(math.Round(float64(w*h*fps)*bpp/1000)))
}

// track describes the output as an RTC track of id.
func (f videoFormat) track(id string) protocol.RTCTrack {
	p := &protocol.VideoParameters{Framerate: f.enc.Framerate, KeyFrameInterval: f.enc.KeyFrameInterval / f.enc.Framerate,
		Bitrate: &protocol.Bitrate{Kbps: float64(f.enc.BitrateKbps)}}
	if f.enc.Width > 0 && f.enc.Height > 0 {
		p.Resolution = &protocol.Resolution{Width: f.enc.Width, Height: f.enc.Height}
	}
	return protocol.RTCTrack{ID: id, Mid: "video", Type: "video", Format: f.format, Parameters: p}
}

// audioFormat describes one Opus output.
type audioFormat struct {
	channels   int
	bitrateBps int
	format     protocol.Format
	info       medialink.TrackInfo
}

// newAudioFormat checks an OWT audio format: only Opus at 48 kHz with 1 or 2 channels is
// produced (0 = 48000 and 2).
func newAudioFormat(codecName string, sampleRate, channels int) (audioFormat, error) {
	if !strings.EqualFold(codecName, "opus") {
		return audioFormat{}, errUnsupported("audio codec %q (only opus)", codecName)
	}
	if sampleRate == 0 {
		sampleRate = pipeline.SampleRate
	}
	if channels == 0 {
		channels = 2
	}
	if sampleRate != pipeline.SampleRate || (channels != 1 && channels != 2) {
		return audioFormat{}, errUnsupported("opus format %d/%d (48000 Hz, 1 or 2 channels)", sampleRate, channels)
	}
	return audioFormat{
		channels: channels, bitrateBps: defaultAudioBitrate,
		format: protocol.Format{Codec: "opus", SampleRate: sampleRate, ChannelNum: channels},
		info: medialink.TrackInfo{Kind: "audio", MimeType: "audio/opus", ClockRate: pipeline.SampleRate,
			Channels: 2, Fmtp: "minptime=10;useinbandfec=1"},
	}, nil
}

// track describes the output as an RTC track of id.
func (f audioFormat) track(id string) protocol.RTCTrack {
	return protocol.RTCTrack{ID: id, Mid: "audio", Type: "audio", Format: f.format}
}
