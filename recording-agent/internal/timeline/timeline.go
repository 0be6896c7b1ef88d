// Package timeline maps the RTP timestamps of a recording's tracks to one local wall-clock
// timeline, so audio and video recorded from separate media links line up.
//
// A track's first frame is anchored at the local time it was captured: from the sender's
// RTCP Sender Reports (RFC 3550 §6.4.1: NTP time ↔ RTP timestamp) when one has arrived,
// otherwise at its arrival time. Later frames follow the RTP clock from that anchor, so
// network jitter does not move them. Sender times become local times through one offset per
// recording (learnt from the first Sender Report): tracks of one publisher share its NTP
// clock, so their relative offset is exactly what the publisher's reports say. A track
// whose reported time disagrees with its arrival by more than MaxSkew is assumed to use
// another clock and is anchored at arrival instead.
package timeline

import (
	"sync"
	"time"

	"github.com/pion/rtcp"
)

// MaxSkew is the largest accepted difference between a Sender-Report-derived local time and
// the arrival time of the same frame.
const MaxSkew = time.Second

// Clock holds a recording's sender-to-local clock offset. It is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
	known  bool
}

// learn sets the offset from the first report: local arrival minus the sender's NTP time.
func (c *Clock) learn(ntp, arrival time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.known {
		c.offset, c.known = arrival.Sub(ntp), true
	}
	return c.offset
}

// Track maps one source's extended RTP timestamps to local time. It is not safe for
// concurrent use; make a new one for each source.
type Track struct {
	clock *Clock
	rate  int64

	srNTP    time.Time
	srRTP    uint32
	haveSR   bool
	anchored bool
	local    time.Time
	rtp      int64
	FromSR   bool // the anchor came from a Sender Report
}

// NewTrack returns a mapping for a source with the given RTP clock rate.
func NewTrack(clock *Clock, rate uint32) *Track {
	return &Track{clock: clock, rate: int64(max(rate, 1))}
}

// NTPTime converts a 64-bit NTP timestamp (seconds since 1900 in 32.32 fixed point).
func NTPTime(ntp uint64) time.Time {
	const ntpToUnix = 2208988800
	sec := int64(ntp>>32) - ntpToUnix
	frac := int64(ntp & 0xFFFFFFFF)
	return time.Unix(sec, frac*1e9>>32)
}

// ToNTP converts a time to a 64-bit NTP timestamp.
func ToNTP(t time.Time) uint64 {
	const ntpToUnix = 2208988800
	sec := uint64(t.Unix() + ntpToUnix)
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return sec<<32 | frac
}

// SenderReport records a Sender Report of this source that arrived at arrival.
func (t *Track) SenderReport(sr *rtcp.SenderReport, arrival time.Time) {
	t.srNTP, t.srRTP, t.haveSR = NTPTime(sr.NTPTime), sr.RTPTime, true
	t.clock.learn(t.srNTP, arrival)
}

// Local returns the local time of the frame with extended timestamp ts whose first packet
// arrived at arrival.
func (t *Track) Local(ts int64, arrival time.Time) time.Time {
	if !t.anchored {
		t.anchor(ts, arrival)
	}
	return t.local.Add(time.Duration((ts - t.rtp) * int64(time.Second) / t.rate))
}

func (t *Track) anchor(ts int64, arrival time.Time) {
	t.local, t.rtp, t.anchored = arrival, ts, true
	if !t.haveSR {
		return
	}
	diff := int64(int32(uint32(ts) - t.srRTP))
	sender := t.srNTP.Add(time.Duration(diff * int64(time.Second) / t.rate))
	local := sender.Add(t.clock.learn(sender, arrival))
	if d := local.Sub(arrival); d < MaxSkew && d > -MaxSkew {
		t.local, t.FromSR = local, true
	}
}
