package rtpframe

// unwrapper extends wrapping 16- or 32-bit counters (RTP sequence numbers and timestamps)
// to int64, assuming consecutive values are less than half the range apart.
type unwrapper struct {
	bits  uint
	last  int64
	valid bool
}

// extend returns v extended relative to the last extended value; the last value only moves
// forward, so a late (reordered) value extends to a smaller number.
func (u *unwrapper) extend(v uint32) int64 {
	if !u.valid {
		u.last, u.valid = int64(v), true
		return u.last
	}
	half := int64(1) << (u.bits - 1)
	mask := int64(1)<<u.bits - 1
	diff := (int64(v) - u.last) & mask
	if diff >= half {
		diff -= mask + 1
	}
	ext := u.last + diff
	if ext > u.last {
		u.last = ext
	}
	return ext
}
