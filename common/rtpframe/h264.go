package rtpframe

import (
	"encoding/binary"
	"errors"
)

// H.264 NAL unit types (ITU-T H.264 Table 7-1).
const (
	nalIDR = 5
	nalSPS = 7
	nalPPS = 8
	nalAUD = 9
)

// ErrBadSPS: a sequence parameter set that does not parse.
var ErrBadSPS = errors.New("rtpframe: malformed SPS")

// SplitAnnexB returns the NAL units of an Annex-B byte stream (start codes of 3 or 4
// bytes), without their start codes.
func SplitAnnexB(b []byte) [][]byte {
	var nals [][]byte
	start := -1
	for i := 0; i+2 < len(b); i++ {
		if b[i] != 0 || b[i+1] != 0 || b[i+2] != 1 {
			continue
		}
		if start >= 0 {
			end := i
			for end > start && b[end-1] == 0 {
				end--
			}
			if end > start {
				nals = append(nals, b[start:end])
			}
		}
		start = i + 3
		i += 2
	}
	if start >= 0 && start < len(b) {
		nals = append(nals, b[start:])
	}
	return nals
}

// AccessUnit is an H.264 access unit converted for Matroska/MP4 (ISO 14496-15).
type AccessUnit struct {
	AVCC []byte // NAL units with 4-byte big-endian length prefixes (AUDs removed)
	SPS  []byte // the access unit's last SPS, if any
	PPS  []byte // the access unit's last PPS, if any
	IDR  bool   // contains an IDR slice
}

// ToAVCC converts an Annex-B access unit.
func ToAVCC(annexB []byte) AccessUnit {
	var au AccessUnit
	for _, nal := range SplitAnnexB(annexB) {
		switch nal[0] & 0x1F {
		case nalAUD:
			continue
		case nalSPS:
			au.SPS = nal
		case nalPPS:
			au.PPS = nal
		case nalIDR:
			au.IDR = true
		}
		au.AVCC = binary.BigEndian.AppendUint32(au.AVCC, uint32(len(nal)))
		au.AVCC = append(au.AVCC, nal...)
	}
	return au
}

// AVCDecoderConfig builds the AVCDecoderConfigurationRecord (ISO 14496-15 §5.3.3.1) used as
// Matroska CodecPrivate, with 4-byte NAL lengths.
func AVCDecoderConfig(sps, pps []byte) ([]byte, error) {
	if len(sps) < 4 || len(pps) == 0 || len(sps) > 0xFFFF || len(pps) > 0xFFFF {
		return nil, ErrBadSPS
	}
	b := []byte{1, sps[1], sps[2], sps[3], 0xFF, 0xE1}
	b = binary.BigEndian.AppendUint16(b, uint16(len(sps)))
	b = append(b, sps...)
	b = append(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(pps)))
	return append(b, pps...), nil
}

// bitReader reads an RBSP (emulation prevention bytes removed) bit by bit.
type bitReader struct {
	b   []byte
	pos int
	err bool
}

func (r *bitReader) bit() uint32 {
	if r.pos >= 8*len(r.b) {
		r.err = true
		return 0
	}
	v := uint32(r.b[r.pos/8]>>(7-r.pos%8)) & 1
	r.pos++
	return v
}

func (r *bitReader) bits(n int) uint32 {
	var v uint32
	for range n {
		v = v<<1 | r.bit()
	}
	return v
}

// ue reads an unsigned Exp-Golomb code (H.264 §9.1).
func (r *bitReader) ue() uint32 {
	zeros := 0
	for r.bit() == 0 {
		if zeros++; zeros > 31 || r.err {
			r.err = true
			return 0
		}
	}
	return 1<<zeros - 1 + r.bits(zeros)
}

func (r *bitReader) se() int32 {
	v := r.ue()
	if v&1 == 1 {
		return int32(v/2) + 1
	}
	return -int32(v / 2)
}

// unescapeRBSP removes emulation prevention bytes (00 00 03 → 00 00).
func unescapeRBSP(nal []byte) []byte {
	out := make([]byte, 0, len(nal))
	zeros := 0
	for _, c := range nal {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}

// highProfiles have the chroma/bit-depth/scaling fields in their SPS (H.264 §7.3.2.1.1).
var highProfiles = map[uint32]bool{100: true, 110: true, 122: true, 244: true, 44: true, 83: true,
	86: true, 118: true, 128: true, 138: true, 139: true, 134: true, 135: true}

// SPSDimensions returns the cropped picture size an SPS describes.
func SPSDimensions(sps []byte) (width, height int, err error) {
	info, err := parseSPS(sps)
	return info.width, info.height, err
}

// spsInfo is what the depacketizer reads from a sequence parameter set (H.264 §7.3.2.1.1).
type spsInfo struct {
	id              uint32
	log2MaxFrameNum uint32
	separatePlanes  bool // separate_colour_plane_flag: slices carry colour_plane_id
	width, height   int
}

// parseSPS parses an SPS NAL unit (with its header byte).
func parseSPS(sps []byte) (spsInfo, error) {
	if len(sps) < 4 || sps[0]&0x1F != nalSPS {
		return spsInfo{}, ErrBadSPS
	}
	var info spsInfo
	r := &bitReader{b: unescapeRBSP(sps[1:])}
	profile := r.bits(8)
	r.bits(16) // constraint flags, level
	info.id = r.ue()
	chroma := uint32(1)
	if highProfiles[profile] {
		if chroma = r.ue(); chroma == 3 {
			info.separatePlanes = r.bit() == 1
		}
		r.ue()
		r.ue()
		r.bit()
		if r.bit() == 1 { // seq_scaling_matrix_present_flag
			skipScalingLists(r, chroma)
		}
	}
	info.log2MaxFrameNum = r.ue() + 4
	skipPOC(r)
	r.ue() // max_num_ref_frames
	r.bit()
	w, h := r.ue()+1, r.ue()+1
	frameMbsOnly := r.bit()
	if frameMbsOnly == 0 {
		r.bit()
	}
	r.bit()
	var cl, cr, ct, cb uint32
	if r.bit() == 1 {
		cl, cr, ct, cb = r.ue(), r.ue(), r.ue(), r.ue()
	}
	if r.err || w > 1<<10 || h > 1<<10 || info.id > 31 || info.log2MaxFrameNum > 16 {
		return spsInfo{}, ErrBadSPS
	}
	ux, uy := cropUnits(chroma, frameMbsOnly)
	info.width = int(w*16) - int(ux*(cl+cr))
	info.height = int((2-frameMbsOnly)*h*16) - int(uy*(ct+cb))
	if info.width <= 0 || info.height <= 0 {
		return spsInfo{}, ErrBadSPS
	}
	return info, nil
}

// rbspPrefix is how much of a NAL unit the slice and PPS header parsers unescape: the
// fields they read end well within it.
const rbspPrefix = 32

// parsePPS returns a picture parameter set's id and the id of the SPS it refers to.
func parsePPS(pps []byte) (ppsID, spsID uint32, ok bool) {
	if len(pps) < 2 || pps[0]&0x1F != nalPPS {
		return 0, 0, false
	}
	r := &bitReader{b: unescapeRBSP(pps[1:min(len(pps), rbspPrefix)])}
	ppsID, spsID = r.ue(), r.ue()
	return ppsID, spsID, !r.err && ppsID < 256 && spsID < 32
}

// sliceHeader returns the pic_parameter_set_id a slice NAL unit refers to, and a reader
// positioned at its frame_num (H.264 §7.3.3).
func sliceHeader(nal []byte) (ppsID uint32, r *bitReader, ok bool) {
	if len(nal) < 2 {
		return 0, nil, false
	}
	r = &bitReader{b: unescapeRBSP(nal[1:min(len(nal), rbspPrefix)])}
	r.ue() // first_mb_in_slice
	r.ue() // slice_type
	ppsID = r.ue()
	return ppsID, r, !r.err && ppsID < 256
}

func skipScalingLists(r *bitReader, chroma uint32) {
	n := 8
	if chroma == 3 {
		n = 12
	}
	for i := range n {
		if r.bit() == 0 || r.err {
			continue
		}
		size := 16
		if i >= 6 {
			size = 64
		}
		last, next := int32(8), int32(8)
		for range size {
			if next != 0 {
				next = (last + r.se() + 256) % 256
			}
			if next != 0 {
				last = next
			}
		}
	}
}

func skipPOC(r *bitReader) {
	switch r.ue() {
	case 0:
		r.ue()
	case 1:
		r.bit()
		r.se()
		r.se()
		n := r.ue()
		for i := uint32(0); i < n && !r.err; i++ {
			r.se()
		}
	}
}

// cropUnits returns the horizontal and vertical crop units (H.264 Table 6-1, eq. 7-19..7-22).
func cropUnits(chroma, frameMbsOnly uint32) (uint32, uint32) {
	switch chroma {
	case 0:
		return 1, 2 - frameMbsOnly
	case 1:
		return 2, 2 * (2 - frameMbsOnly)
	case 2:
		return 2, 2 - frameMbsOnly
	}
	return 1, 2 - frameMbsOnly
}

// VP8Dimensions returns the size in a VP8 keyframe header (RFC 6386 §9.1).
func VP8Dimensions(frame []byte) (width, height int, ok bool) {
	if len(frame) < 10 || frame[0]&1 != 0 || frame[3] != 0x9D || frame[4] != 0x01 || frame[5] != 0x2A {
		return 0, 0, false
	}
	w := int(binary.LittleEndian.Uint16(frame[6:8]) & 0x3FFF)
	h := int(binary.LittleEndian.Uint16(frame[8:10]) & 0x3FFF)
	return w, h, w > 0 && h > 0
}
