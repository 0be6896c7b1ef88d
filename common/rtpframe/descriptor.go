package rtpframe

import (
	"encoding/binary"
	"strings"

	"github.com/pion/rtp/codecs"
)

// Descriptor is what the first packet of a video frame tells about the frame's place in its
// stream: whether it starts a frame or a keyframe, and the codec's frame counters that show
// whether a frame between two received ones went missing. Parsing it allocates nothing, so
// the SFU's packet path uses it too.
type Descriptor struct {
	Start bool // the payload begins a frame (VP8 S=1 with partition 0, VP9 B, H.264 first NAL)
	Key   bool // the payload begins a keyframe

	// Picture ID (VP8 RFC 7741 §4.2, VP9 RFC 9628 §4.2): increments by one per frame.
	HasPictureID bool
	PictureID    uint16
	PictureBits  uint8 // 7 or 15

	// Temporal layering (VP8 T/Y/TL0PICIDX, VP9 TID/U/TL0PICIDX): a base-layer frame (TID 0)
	// depends only on earlier base-layer frames, whose count TL0PICIDX is.
	HasTID    bool
	TID       uint8
	LayerSync bool // VP8 Y / VP9 U: depends only on the base layer
	HasTL0    bool
	TL0PicIdx uint8

	// NonReference: no later frame depends on this one (VP8 N; VP9 frames of the top
	// temporal layer are not marked, so this stays false for VP9).
	NonReference bool

	// SpatialID is the VP9 spatial layer of the frame (0 without spatial layering).
	SpatialID uint8
}

// KeyframeStart reports whether an RTP payload of codec starts a keyframe: VP8 S=1, PID=0
// and the frame tag's P bit clear; VP9 B=1, P=0 in spatial layer 0; H.264 an SPS or IDR
// slice as a single NAL unit, in a STAP-A, or as the first FU-A fragment (RFC 6184 §5.6–5.8).
// Audio payloads are always keyframes.
func KeyframeStart(c Codec, payload []byte) bool {
	switch c {
	case VP8:
		d, ok := parseVP8(payload)
		return ok && d.Key
	case VP9:
		d, ok := parseVP9(payload)
		return ok && d.Key
	case H264:
		return h264KeyStart(payload)
	case Opus:
		return true
	}
	return false
}

// KeyframeDetector returns the keyframe-start test for the payloads of a MIME type ("video/VP8",
// "audio/PCMU"): KeyframeStart for the codecs of this package, true for every other audio
// payload, and nil for a video codec it does not know.
func KeyframeDetector(mime string) func(payload []byte) bool {
	c, err := CodecOf(mime)
	switch {
	case err == nil:
		return func(p []byte) bool { return KeyframeStart(c, p) }
	case len(mime) > 6 && strings.EqualFold(mime[:6], "audio/"):
		return func([]byte) bool { return true }
	}
	return nil
}

// KeyframeSize reads the picture size from the first packet of a keyframe: the VP8 frame
// header after the descriptor (RFC 6386 §9.1), the VP9 scalability structure's last
// spatial layer (RFC 9628 §4.2.1), or an H.264 SPS carried alone or in a STAP-A. ok is false
// when the packet does not carry it.
func KeyframeSize(c Codec, payload []byte) (width, height int, ok bool) {
	switch c {
	case VP8:
		if off, key := vp8PayloadOffset(payload); key {
			return VP8Dimensions(payload[off:])
		}
	case VP9:
		var vp codecs.VP9Packet
		if _, err := vp.Unmarshal(payload); err == nil && vp.V && len(vp.Width) > 0 {
			w, h := int(vp.Width[len(vp.Width)-1]), int(vp.Height[len(vp.Height)-1])
			return w, h, w > 0 && h > 0
		}
	case H264:
		if sps := h264FirstSPS(payload); sps != nil {
			w, h, err := SPSDimensions(sps)
			return w, h, err == nil
		}
	}
	return 0, 0, false
}

// vp8PayloadOffset returns where the VP8 frame starts in a payload that begins a keyframe.
func vp8PayloadOffset(b []byte) (int, bool) {
	d, off, ok := vp8Descriptor(b)
	return off, ok && d.Key
}

// h264FirstSPS returns the SPS NAL unit at the start of an H.264 payload: a single NAL unit
// or within a STAP-A.
func h264FirstSPS(b []byte) []byte {
	if len(b) < 1 {
		return nil
	}
	switch b[0] & 0x1F {
	case nalSPS:
		return b
	case stapA:
		var sps []byte
		stapUnits(b, func(nal []byte) bool {
			if nal[0]&0x1F == nalSPS {
				sps = nal
			}
			return sps == nil
		})
		return sps
	}
	return nil
}

// stapA is the NAL unit type of a single-time aggregation packet (RFC 6184 §5.7.1).
const stapA = 24

// stapUnits calls fn for the units of a STAP-A payload (16-bit size, unit, …) until fn
// returns false. A unit cut short by the packet's end is passed as far as it goes.
func stapUnits(b []byte, fn func(nal []byte) bool) {
	for off := 1; off+2 < len(b); {
		size := int(binary.BigEndian.Uint16(b[off:]))
		if size == 0 {
			return
		}
		end := min(off+2+size, len(b))
		if !fn(b[off+2 : end]) {
			return
		}
		off = end
	}
}

// Describe parses the payload descriptor of a video packet; ok is false for a payload too
// short for its own descriptor. H.264 has no descriptor: only Start and Key are set.
func Describe(c Codec, payload []byte) (Descriptor, bool) {
	switch c {
	case VP8:
		return parseVP8(payload)
	case VP9:
		return parseVP9(payload)
	case H264:
		if len(payload) == 0 {
			return Descriptor{}, false
		}
		return Descriptor{Start: h264Start(payload), Key: h264KeyStart(payload)}, true
	}
	return Descriptor{}, false
}

// parseVP8 reads the VP8 payload descriptor (RFC 7741 §4.2) and, at the start of partition 0,
// the frame tag's inverse key frame bit (RFC 6386 §9.1).
func parseVP8(b []byte) (Descriptor, bool) {
	d, _, ok := vp8Descriptor(b)
	return d, ok
}

// vp8Descriptor is parseVP8 that also returns where the VP8 payload starts.
func vp8Descriptor(b []byte) (Descriptor, int, bool) {
	if len(b) < 1 {
		return Descriptor{}, 0, false
	}
	var d Descriptor
	d.NonReference = b[0]&0x20 != 0
	d.Start = b[0]&0x10 != 0 && b[0]&0x07 == 0
	off := 1
	if b[0]&0x80 != 0 { // X: extension byte
		if len(b) < 2 {
			return Descriptor{}, 0, false
		}
		x := b[1]
		off = 2
		if x&0x80 != 0 { // I: 7- or 15-bit picture ID
			var ok bool
			if off, ok = readPictureID(b, off, &d); !ok {
				return Descriptor{}, 0, false
			}
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			if len(b) <= off {
				return Descriptor{}, 0, false
			}
			d.HasTL0, d.TL0PicIdx = true, b[off]
			off++
		}
		if x&0x30 != 0 { // T or K: TID|Y|KEYIDX
			if len(b) <= off {
				return Descriptor{}, 0, false
			}
			if x&0x20 != 0 {
				d.HasTID, d.TID, d.LayerSync = true, b[off]>>6, b[off]&0x20 != 0
			}
			off++
		}
	}
	d.Key = d.Start && len(b) > off && b[off]&0x01 == 0
	return d, off, true
}

// readPictureID reads a 7- or 15-bit picture ID (the M bit says which) at b[off] into d and
// returns the offset after it.
func readPictureID(b []byte, off int, d *Descriptor) (int, bool) {
	if len(b) <= off {
		return 0, false
	}
	d.HasPictureID, d.PictureBits, d.PictureID = true, 7, uint16(b[off]&0x7F)
	if b[off]&0x80 != 0 {
		if len(b) <= off+1 {
			return 0, false
		}
		d.PictureBits, d.PictureID = 15, binary.BigEndian.Uint16(b[off:])&0x7FFF
		off++
	}
	return off + 1, true
}

// parseVP9 reads the VP9 payload descriptor (RFC 9628 §4.2). A keyframe starts a frame (B)
// that is not inter-picture predicted (P=0) in spatial layer 0.
func parseVP9(b []byte) (Descriptor, bool) {
	if len(b) < 1 {
		return Descriptor{}, false
	}
	var d Descriptor
	i, p, l, f := b[0]&0x80 != 0, b[0]&0x40 != 0, b[0]&0x20 != 0, b[0]&0x10 != 0
	d.Start = b[0]&0x08 != 0
	off := 1
	if i {
		var ok bool
		if off, ok = readPictureID(b, off, &d); !ok {
			return Descriptor{}, false
		}
	}
	if l {
		if len(b) <= off {
			return Descriptor{}, false
		}
		d.HasTID, d.TID, d.LayerSync, d.SpatialID = true, b[off]>>5, b[off]&0x10 != 0, b[off]>>1&0x07
		off++
		if !f {
			if len(b) <= off {
				return Descriptor{}, false
			}
			d.HasTL0, d.TL0PicIdx = true, b[off]
		}
	}
	d.Key = d.Start && !p && d.SpatialID == 0
	return d, true
}

// h264Start reports whether an H.264 payload begins a NAL unit rather than continuing a
// fragmented one (an FU-A without its start bit).
func h264Start(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	if b[0]&0x1F == 28 {
		return len(b) > 1 && b[1]&0x80 != 0
	}
	return true
}

// h264KeyStart finds an SPS or IDR NAL unit at the start of the payload.
func h264KeyStart(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	switch nal := b[0] & 0x1F; nal {
	case nalIDR, nalSPS:
		return true
	case stapA:
		key := false
		stapUnits(b, func(nal []byte) bool {
			t := nal[0] & 0x1F
			key = t == nalIDR || t == nalSPS
			return !key
		})
		return key
	case 28: // FU-A: start bit and the fragmented unit's type
		return len(b) > 1 && b[1]&0x80 != 0 && (b[1]&0x1F == nalIDR || b[1]&0x1F == nalSPS)
	}
	return false
}
