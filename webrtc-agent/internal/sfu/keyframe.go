package sfu

import "strings"

// Codec families the keyframe detector knows.
const (
	familyOther = iota
	familyVP8
	familyVP9
	familyH264
	familyAudio
)

// codecFamily maps a MIME type ("video/VP8") to a keyframe-detection family.
func codecFamily(mime string) int {
	switch {
	case strings.EqualFold(mime, "video/vp8"):
		return familyVP8
	case strings.EqualFold(mime, "video/vp9"):
		return familyVP9
	case strings.EqualFold(mime, "video/h264"):
		return familyH264
	case strings.HasPrefix(strings.ToLower(mime), "audio/"):
		return familyAudio
	}
	return familyOther
}

// isKeyframeStart reports whether payload starts a keyframe of the given family.
func isKeyframeStart(family int, payload []byte) bool {
	switch family {
	case familyAudio:
		return true
	case familyVP8:
		return vp8Keyframe(payload)
	case familyVP9:
		return vp9Keyframe(payload)
	case familyH264:
		return h264Keyframe(payload)
	}
	return false
}

// vp8Keyframe parses the VP8 payload descriptor (RFC 7741 §4.2) and checks the P bit of the
// VP8 payload header at the start of partition 0.
func vp8Keyframe(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	start, pid := b[0]&0x10 != 0, b[0]&0x07
	off := 1
	if b[0]&0x80 != 0 { // X: extension byte
		if len(b) < 2 {
			return false
		}
		x := b[1]
		off = 2
		if x&0x80 != 0 { // I: picture id, 1 or 2 bytes
			if len(b) <= off {
				return false
			}
			if b[off]&0x80 != 0 {
				off++
			}
			off++
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			off++
		}
		if x&0x30 != 0 { // T or K: TID/Y/KEYIDX byte
			off++
		}
	}
	return start && pid == 0 && len(b) > off && b[off]&0x01 == 0
}

// vp9Keyframe checks the VP9 payload descriptor (RFC 9628 §4.2): start of a frame (B) that is
// not inter-picture predicted (P = 0).
func vp9Keyframe(b []byte) bool {
	return len(b) > 0 && b[0]&0x40 == 0 && b[0]&0x08 != 0
}

// h264Keyframe finds an SPS or IDR NAL unit at the start of the payload (RFC 6184 §5.6–5.8):
// a single NAL unit, any unit of a STAP-A, or the first fragment of an FU-A.
func h264Keyframe(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	switch nal := b[0] & 0x1F; nal {
	case 5, 7:
		return true
	case 24: // STAP-A: 2-byte sizes then units
		for off := 1; off+2 < len(b); {
			size := int(b[off])<<8 | int(b[off+1])
			if t := b[off+2] & 0x1F; t == 5 || t == 7 {
				return true
			}
			off += 2 + size
		}
	case 28: // FU-A: start bit and original type
		return len(b) > 1 && b[1]&0x80 != 0 && (b[1]&0x1F == 5 || b[1]&0x1F == 7)
	}
	return false
}
