package rtpframe

// After packets went missing, a depacketizer must decide whether the next complete frame can
// still be decoded. Most gaps in browser streams carry no media at all (padding sent as
// bandwidth probes, in the media's sequence space), and with temporal layers most lost frames
// are ones nothing else refers to. The codecs' own counters tell: the picture ID (VP8, VP9)
// or frame_num (H.264) of the next frame shows whether a frame was lost, and TL0PICIDX
// whether a base-layer frame was. Only when a frame others depend on is gone must the
// consumer wait for a keyframe.

// verdict is what to do with a complete frame.
type verdict int

const (
	acceptFrame verdict = iota // decodable: emit it
	skipFrame                  // not decodable, but a later frame will be: drop it quietly
	needKey                    // the reference chain is broken: drop until a keyframe
)

// frameInfo is what the continuity check needs to know about one complete frame.
type frameInfo struct {
	key  bool
	desc Descriptor // from the frame's first packet (VP8, VP9)

	// H.264: frame_num of the first slice and whether the frame is a reference.
	hasFrameNum bool
	frameNum    uint32
	maxFrameNum uint32
	reference   bool
}

// continuity follows the reference chain of one video source.
type continuity struct {
	disrupted bool // packets went missing since the last accepted frame
	unknown   int  // frames lost since then whose layer is unknown

	havePID bool
	lastPID uint16
	pidMask uint16

	haveTL0 bool
	lastTL0 uint8
	// synced has bit n set when temporal layer n is decodable (all set while nothing was lost).
	synced uint8

	haveFrameNum bool
	lastRefNum   uint32
}

// allLayers marks every temporal layer decodable.
const allLayers = 0xFF

// reset starts a new reference chain at a keyframe.
func (c *continuity) reset(fi frameInfo) {
	*c = continuity{synced: allLayers}
	c.note(fi)
}

// gap records that packets went missing.
func (c *continuity) gap() { c.disrupted = true }

// lostFrame records a frame that was started but not completed (its descriptor known) or
// whose start was never seen (known false). It reports whether the loss alone proves that a
// keyframe is needed.
func (c *continuity) lostFrame(fi frameInfo, known bool) bool {
	c.disrupted = true
	if !known {
		c.unknown++
		// One lost frame of unknown layer may be a discardable one; the next complete frame
		// tells. Two in a row without a complete frame between them: stop guessing.
		return c.unknown > 1
	}
	d := fi.desc
	switch {
	case d.NonReference && d.HasPictureID && c.havePID && d.PictureID == (c.lastPID+1)&c.pidMask:
		c.lastPID = d.PictureID // accounted for: nothing refers to it
		return false
	case d.HasTID && d.TID > 0:
		c.synced &^= ^uint8(0) << d.TID // this layer and those above need a sync frame
		return false
	}
	return true
}

// judge decides about a complete non-key frame and, when it is accepted, moves the chain on.
func (c *continuity) judge(fi frameInfo) verdict {
	if c.disrupted {
		v, resolved := c.afterGap(fi)
		if !resolved {
			return v
		}
		c.disrupted, c.unknown = false, 0
	}
	if d := fi.desc; d.HasTID && d.TID < 8 && c.synced&(1<<d.TID) == 0 {
		// A higher temporal layer after a loss: decodable from a layer-sync frame whose lower
		// layers are all decodable.
		below := uint8(1)<<d.TID - 1
		if !d.LayerSync || c.synced&below != below {
			return skipFrame
		}
		c.synced |= 1 << d.TID
	}
	c.note(fi)
	return acceptFrame
}

// afterGap checks the first complete frame after missing packets. resolved reports that the
// frame's counters prove no referenced frame was lost (v is then meaningless).
func (c *continuity) afterGap(fi frameInfo) (v verdict, resolved bool) {
	d := fi.desc
	switch {
	case d.HasPictureID && c.havePID && d.PictureID == (c.lastPID+1)&c.pidMask:
		return acceptFrame, true // the gap held no frame (padding)
	case fi.hasFrameNum && c.haveFrameNum && fi.frameNum == (c.lastRefNum+1)%fi.maxFrameNum:
		return acceptFrame, true // no reference frame lost
	case d.HasTID && d.HasTL0 && c.haveTL0:
		if d.TID > 0 {
			if d.TL0PicIdx == c.lastTL0 {
				return skipFrame, false // wait for the next base-layer frame
			}
			return needKey, false
		}
		if d.TL0PicIdx == c.lastTL0+1 {
			c.synced = 1 // only the base layer is decodable until sync frames arrive
			return acceptFrame, true
		}
	}
	return needKey, false
}

// note moves the chain past an accepted frame.
func (c *continuity) note(fi frameInfo) {
	d := fi.desc
	if d.HasPictureID {
		c.havePID, c.lastPID, c.pidMask = true, d.PictureID, uint16(1)<<d.PictureBits-1
	}
	if d.HasTL0 && (!d.HasTID || d.TID == 0) {
		c.haveTL0, c.lastTL0 = true, d.TL0PicIdx
	}
	if fi.hasFrameNum && (fi.reference || fi.key) {
		c.haveFrameNum, c.lastRefNum = true, fi.frameNum
	}
}
