package sfu

import "encoding/binary"

// Packet is one parsed RTP packet. Its slices alias the buffer it was parsed from and are
// valid only during the call that received it.
type Packet struct {
	Raw         []byte // the whole packet
	Payload     []byte // without header, extensions and padding
	Marker      bool
	PayloadType uint8
	Seq         uint16
	Timestamp   uint32
	SSRC        uint32
	// Keyframe marks the first packet of a keyframe (always true for audio): a subscriber
	// may start or switch here.
	Keyframe bool
	// VP8 payload descriptor fields (Track.Forward reads them for VP8 tracks): the picture ID
	// (at payload offset 2 when HasPicID; PicBits 7 or 15) and the temporal layer.
	HasPicID  bool
	PicBits   uint8
	PicID     uint16
	HasTID    bool
	TID       uint8
	LayerSync bool
	// At is the wall clock (unix ns) when Track.Forward handed the packet out: read once
	// per packet rather than once per subscriber.
	At int64
}

// ParseRTP parses the fixed header, CSRCs, header extension and padding of an RTP packet
// (RFC 3550 §5.1) into p, reusing p. It reports false for anything that is not RTP.
func ParseRTP(b []byte, p *Packet) bool {
	if len(b) < 12 || b[0]>>6 != 2 {
		return false
	}
	off := 12 + 4*int(b[0]&0x0F)
	if b[0]&0x10 != 0 { // header extension: 4-byte header then length words
		if len(b) < off+4 {
			return false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:off+4]))
	}
	end := len(b)
	if b[0]&0x20 != 0 { // padding: the last byte counts the padding bytes
		if end == 0 || int(b[end-1]) == 0 {
			return false
		}
		end -= int(b[end-1])
	}
	if off > end {
		return false
	}
	p.Raw = b
	p.Payload = b[off:end]
	p.Marker = b[1]&0x80 != 0
	p.PayloadType = b[1] & 0x7F
	p.Seq = binary.BigEndian.Uint16(b[2:4])
	p.Timestamp = binary.BigEndian.Uint32(b[4:8])
	p.SSRC = binary.BigEndian.Uint32(b[8:12])
	p.Keyframe, p.At = false, 0
	p.HasPicID, p.HasTID, p.TID, p.LayerSync = false, false, 0, false
	return true
}
