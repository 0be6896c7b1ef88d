package rtpframe

import "encoding/binary"

// NAL unit types of coded slices (H.264 Table 7-1).
const (
	nalSlice  = 1
	nalIDRPic = nalIDR
)

// h264Params keeps the parameter sets a stream carried, to read frame_num from its slice
// headers (the continuity check of H.264, which has no picture ID).
type h264Params struct {
	sps     [32]spsInfo
	haveSPS uint32 // bit n: sps[n] is known
	ppsSPS  [256]uint8
	havePPS [4]uint64 // bit n: ppsSPS[n] is known
}

// learn takes the parameter sets of an AVCC access unit.
func (h *h264Params) learn(avcc []byte) {
	forEachAVCC(avcc, func(nal []byte) bool {
		switch nal[0] & 0x1F {
		case nalSPS:
			if info, err := parseSPS(nal); err == nil {
				h.sps[info.id], h.haveSPS = info, h.haveSPS|1<<info.id
			}
		case nalPPS:
			if pps, sps, ok := parsePPS(nal); ok {
				h.ppsSPS[pps] = uint8(sps)
				h.havePPS[pps/64] |= 1 << (pps % 64)
			}
		}
		return true
	})
}

// frameInfo reads frame_num and nal_ref_idc from the first slice of an AVCC access unit;
// hasFrameNum stays false when its parameter sets are unknown.
func (h *h264Params) frameInfo(avcc []byte, key bool) frameInfo {
	fi := frameInfo{key: key}
	forEachAVCC(avcc, func(nal []byte) bool {
		typ := nal[0] & 0x1F
		if typ != nalSlice && typ != nalIDRPic {
			return true
		}
		fi.reference = nal[0]&0x60 != 0
		pps, r, ok := sliceHeader(nal)
		if !ok || h.havePPS[pps/64]&(1<<(pps%64)) == 0 {
			return false
		}
		id := h.ppsSPS[pps]
		if h.haveSPS&(1<<id) == 0 {
			return false
		}
		sps := h.sps[id]
		if sps.separatePlanes {
			r.bits(2) // colour_plane_id
		}
		n := r.bits(int(sps.log2MaxFrameNum))
		if !r.err {
			fi.hasFrameNum, fi.frameNum, fi.maxFrameNum = true, n, 1<<sps.log2MaxFrameNum
		}
		return false
	})
	return fi
}

// forEachAVCC calls fn for every non-empty NAL unit of an AVCC access unit until it returns
// false.
func forEachAVCC(b []byte, fn func(nal []byte) bool) {
	for len(b) >= 4 {
		n := int(binary.BigEndian.Uint32(b))
		if n > len(b)-4 {
			return
		}
		if n > 0 && !fn(b[4:4+n]) {
			return
		}
		b = b[4+n:]
	}
}
