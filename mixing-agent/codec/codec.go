// Package codec binds the mixing agent to Debian's codec libraries through cgo: VP8/VP9
// decoding and VP8 encoding with libvpx, H.264 encoding with x264, H.264 decoding with
// libavcodec, and Opus with libopus. Pictures are yuv.Image (I420); audio is 48 kHz
// interleaved int16 in 20 ms frames.
//
// No encoder or decoder is safe for concurrent use: each belongs to one goroutine (the
// mixer's per-stream loop). Close is idempotent and frees every C allocation; C never keeps a
// pointer to Go memory (inputs are copied into C buffers or used only for the duration of one
// call).
package codec

import (
	"errors"
	"fmt"
	"strings"

	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
)

// ErrUnsupported reports a codec, profile or pixel format this package cannot handle.
var ErrUnsupported = errors.New("codec: unsupported")

// ErrInvalidConfig reports an encoder or decoder configuration that fails validation.
var ErrInvalidConfig = errors.New("codec: invalid configuration")

// ErrInvalidInput reports an argument (picture, PCM buffer, output buffer) of the wrong shape.
var ErrInvalidInput = errors.New("codec: invalid input")

// ErrClosed reports a call on a closed encoder or decoder.
var ErrClosed = errors.New("codec: closed")

// Limits of the video encoder configuration.
const (
	// MaxDimension is the largest encoded width or height.
	MaxDimension = 4096
	// MaxFramerate is the highest encoder framerate in frames per second.
	MaxFramerate = 120
)

// VideoDecoder decodes one video stream.
type VideoDecoder interface {
	// Decode decodes one complete encoded frame (VP8 frame; H.264 access unit in Annex-B).
	// It returns (nil, nil) when the decoder produced no picture yet. The returned image is
	// owned by the caller (a copy, safe to keep after the next Decode).
	Decode(frame []byte) (*yuv.Image, error)
	// Close frees the decoder; it is idempotent.
	Close()
}

// VideoEncoderConfig configures NewVideoEncoder.
type VideoEncoderConfig struct {
	Codec            string // "vp8" | "h264"
	Profile          string // h264: "CB" (constrained baseline, default), "B", "M", "H"; ignored for vp8
	Width, Height    int
	Framerate        int // frames per second
	BitrateKbps      int // target bitrate; 0 → DefaultBitrateKbps(Width, Height, Framerate)
	KeyFrameInterval int // frames between keyframes; 0 → 5 s worth of frames
}

// VideoEncoder encodes one video stream with realtime, low-latency settings: no B-frames, no
// lookahead, one thread.
type VideoEncoder interface {
	// Encode encodes img (which must be Width×Height) and returns the encoded frame
	// (VP8 frame; H.264 Annex-B access unit with SPS/PPS before every IDR), whether it is a
	// keyframe; forceKey forces a keyframe.
	// A nil frame with nil error means the encoder dropped this picture (rate control).
	Encode(img *yuv.Image, forceKey bool) (frame []byte, key bool, err error)
	// SetBitrate changes the target bitrate from the next frame on.
	SetBitrate(kbps int) error
	// Close frees the encoder; it is idempotent.
	Close()
}

// NewVideoDecoder returns a decoder for "vp8", "vp9" or "h264" (case-insensitive).
func NewVideoDecoder(codec string) (VideoDecoder, error) {
	switch strings.ToLower(codec) {
	case "vp8":
		return newVPXDecoder(false)
	case "vp9":
		return newVPXDecoder(true)
	case "h264":
		return newH264Decoder()
	}
	return nil, fmt.Errorf("%w: video decoder %q", ErrUnsupported, codec)
}

// NewVideoEncoder validates cfg, fills its defaults and returns a "vp8" or "h264" encoder.
func NewVideoEncoder(cfg VideoEncoderConfig) (VideoEncoder, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	if cfg.Codec == "vp8" {
		return newVP8Encoder(cfg)
	}
	return newX264Encoder(cfg)
}

// DefaultBitrateKbps is the target bitrate used when VideoEncoderConfig.BitrateKbps is 0:
// 0.08 bit per pixel per frame (about 740 kbps for 640×480 at 30 fps), at least 64 kbps.
func DefaultBitrateKbps(width, height, framerate int) int {
	return max(64, width*height*framerate*8/100/1000)
}

// maxBitrateKbps bounds the target bitrate (x264 and libvpx take it as an int of kbps).
const maxBitrateKbps = 100_000

var h264Profiles = map[string]string{"": "baseline", "CB": "baseline", "B": "baseline", "M": "main", "H": "high"}

// normalize validates the configuration and fills the defaults in place.
func (c *VideoEncoderConfig) normalize() error {
	c.Codec = strings.ToLower(c.Codec)
	switch c.Codec {
	case "vp8":
	case "h264":
		if _, ok := h264Profiles[strings.ToUpper(c.Profile)]; !ok {
			return fmt.Errorf("%w: h264 profile %q (want CB, B, M or H)", ErrUnsupported, c.Profile)
		}
		c.Profile = strings.ToUpper(c.Profile)
		if c.Profile == "" {
			c.Profile = "CB"
		}
	default:
		return fmt.Errorf("%w: video encoder %q", ErrUnsupported, c.Codec)
	}
	if c.Width <= 0 || c.Height <= 0 || c.Width%2 != 0 || c.Height%2 != 0 || c.Width > MaxDimension || c.Height > MaxDimension {
		return fmt.Errorf("%w: size %dx%d must be even and within 2..%d", ErrInvalidConfig, c.Width, c.Height, MaxDimension)
	}
	if c.Framerate < 1 || c.Framerate > MaxFramerate {
		return fmt.Errorf("%w: framerate %d must be within 1..%d", ErrInvalidConfig, c.Framerate, MaxFramerate)
	}
	if c.BitrateKbps < 0 || c.BitrateKbps > maxBitrateKbps {
		return fmt.Errorf("%w: bitrate %d kbps must be within 0..%d", ErrInvalidConfig, c.BitrateKbps, maxBitrateKbps)
	}
	if c.BitrateKbps == 0 {
		c.BitrateKbps = DefaultBitrateKbps(c.Width, c.Height, c.Framerate)
	}
	if c.KeyFrameInterval < 0 || c.KeyFrameInterval > 100_000 {
		return fmt.Errorf("%w: keyframe interval %d frames must be within 0..100000", ErrInvalidConfig, c.KeyFrameInterval)
	}
	if c.KeyFrameInterval == 0 {
		c.KeyFrameInterval = 5 * c.Framerate
	}
	return nil
}

// validBitrate checks a SetBitrate argument.
func validBitrate(kbps int) error {
	if kbps < 1 || kbps > maxBitrateKbps {
		return fmt.Errorf("%w: bitrate %d kbps must be within 1..%d", ErrInvalidConfig, kbps, maxBitrateKbps)
	}
	return nil
}
