// Package rtpframe turns one source's RTP packets into complete encoded frames: a reorder
// buffer puts packets back in sequence order and reports gaps, and a per-codec assembler
// joins the payloads of one frame (RFC 7741 VP8, RFC 9628 VP9, RFC 6184 H.264, RFC 7587
// Opus). Incomplete frames are dropped; after a video gap, frames are dropped until the
// next keyframe so a decoder never sees a reference it lacks.
package rtpframe

import (
	"errors"
	"fmt"
	"strings"
)

// Codec is a supported RTP payload format.
type Codec int

// Supported codecs.
const (
	VP8 Codec = iota + 1
	VP9
	H264
	Opus
)

// ErrUnsupportedCodec: a MIME type this package cannot depacketize.
var ErrUnsupportedCodec = errors.New("rtpframe: unsupported codec")

// CodecOf maps a MIME type ("video/VP8") or a bare codec name ("vp8") to a Codec.
func CodecOf(mime string) (Codec, error) {
	name := strings.ToLower(mime)
	if i := strings.IndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	switch name {
	case "vp8":
		return VP8, nil
	case "vp9":
		return VP9, nil
	case "h264":
		return H264, nil
	case "opus":
		return Opus, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnsupportedCodec, mime)
}

// Video reports whether the codec is a video codec.
func (c Codec) Video() bool { return c != Opus }

// String names the codec.
func (c Codec) String() string {
	switch c {
	case VP8:
		return "VP8"
	case VP9:
		return "VP9"
	case H264:
		return "H264"
	case Opus:
		return "opus"
	}
	return fmt.Sprintf("codec(%d)", int(c))
}
