// Package rtpx holds the small RTP helpers the streaming agent needs on its forwarding
// paths: header access without allocation (RFC 3550 §5.1), keyframe detection for H.264
// (RFC 6184) and VP8 (RFC 7741) payloads, and a rewriter that keeps one outgoing stream
// continuous across restarts of its producer.
package rtpx

import "encoding/binary"

// minHeader is the fixed RTP header size.
const minHeader = 12

// Valid reports whether p looks like an RTP packet (version 2, full header present).
func Valid(p []byte) bool {
	_, ok := payloadOffset(p)
	return ok
}

// payloadOffset returns where the payload starts, accounting for CSRCs and an extension.
func payloadOffset(p []byte) (int, bool) {
	if len(p) < minHeader || p[0]>>6 != 2 {
		return 0, false
	}
	off := minHeader + 4*int(p[0]&0x0f)
	if p[0]&0x10 != 0 {
		if len(p) < off+4 {
			return 0, false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(p[off+2:off+4]))
	}
	if off > len(p) {
		return 0, false
	}
	return off, true
}

// Payload returns the packet's payload (padding included), or nil if p is malformed.
func Payload(p []byte) []byte {
	off, ok := payloadOffset(p)
	if !ok {
		return nil
	}
	return p[off:]
}

// Seq returns the sequence number.
func Seq(p []byte) uint16 { return binary.BigEndian.Uint16(p[2:4]) }

// Timestamp returns the RTP timestamp.
func Timestamp(p []byte) uint32 { return binary.BigEndian.Uint32(p[4:8]) }

// Marker reports the marker bit (last packet of a video frame).
func Marker(p []byte) bool { return p[1]&0x80 != 0 }

// SetPayloadType rewrites the payload type, keeping the marker bit.
func SetPayloadType(p []byte, pt uint8) { p[1] = p[1]&0x80 | pt&0x7f }

// IsH264KeyframeStart reports whether an H.264 RTP payload begins a keyframe: it carries
// an SPS or an IDR slice as a single NAL, inside a STAP-A, or as the first FU-A fragment.
func IsH264KeyframeStart(payload []byte) bool {
	if len(payload) < 1 {
		return false
	}
	switch typ := payload[0] & 0x1f; {
	case typ == 5 || typ == 7:
		return true
	case typ == 24: // STAP-A: 16-bit size then NAL, repeated
		for b := payload[1:]; len(b) > 2; {
			n := int(binary.BigEndian.Uint16(b))
			if n == 0 || len(b) < 2+n {
				return false
			}
			if t := b[2] & 0x1f; t == 5 || t == 7 {
				return true
			}
			b = b[2+n:]
		}
	case typ == 28: // FU-A: start bit and the fragmented NAL's type
		return len(payload) > 1 && payload[1]&0x80 != 0 && payload[1]&0x1f == 5
	}
	return false
}

// IsVP8KeyframeStart reports whether a VP8 RTP payload is the first packet of a key frame
// (RFC 7741 §4.2 descriptor with S=1, PID=0, then the frame tag's P bit = 0).
func IsVP8KeyframeStart(payload []byte) bool {
	if len(payload) < 1 || payload[0]&0x10 == 0 || payload[0]&0x07 != 0 {
		return false
	}
	off := 1
	if payload[0]&0x80 != 0 { // X: extension byte
		if len(payload) < 2 {
			return false
		}
		x := payload[1]
		off++
		if x&0x80 != 0 { // I: picture id, 7 or 15 bits
			if len(payload) <= off {
				return false
			}
			if payload[off]&0x80 != 0 {
				off++
			}
			off++
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			off++
		}
		if x&0x30 != 0 { // T or K: TID/KEYIDX byte
			off++
		}
	}
	return len(payload) > off && payload[off]&0x01 == 0
}

// KeyframeDetector returns the keyframe-start test for a video MIME type, or nil when the
// codec is not one the agent can gate on.
func KeyframeDetector(mimeType string) func(payload []byte) bool {
	switch lower(mimeType) {
	case "video/h264":
		return IsH264KeyframeStart
	case "video/vp8":
		return IsVP8KeyframeStart
	}
	return nil
}

// lower is an ASCII lower-case without allocation for the common already-lower case.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := range b {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
