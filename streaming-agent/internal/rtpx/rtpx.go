// Package rtpx holds the small RTP helpers the streaming agent needs on its forwarding
// paths: header access without allocation (RFC 3550 §5.1) and a rewriter that keeps one
// outgoing stream continuous across restarts of its producer. Keyframe detection is
// common/rtpframe's, shared with every other media consumer.
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
