package transport

import (
	"cmp"
	"slices"
	"time"

	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
)

// Congestion control toward a subscriber (see docs/networks.md): the PeerConnection's
// send-side bandwidth estimate (GCC on the subscriber's transport-wide-cc feedback, or the
// subscriber's REMB when it sends no such feedback) is shared among the transport's
// subscriptions every allocInterval. Audio is never touched: its rate comes off the budget
// first. Each video subscription then gets the highest simulcast layer that fits, lowest
// layers first and one step up at a time round the subscriptions, so that two videos share a
// link fairly; a video whose lowest layer does not fit is paused until the estimate grows.
// Going down happens at once; going up waits for upBackoff since the last step down, and an
// upgrade that had to be undone within upFailWindow doubles that wait (up to maxUpBackoff),
// so a link that cannot carry a layer is not flooded with it every few seconds. Pausing needs
// evidence of congestion (the estimate fell within pauseEvidence): an estimate that is only
// still growing from its initial guess must not stop a video the link may well carry.
const (
	allocInterval = 250 * time.Millisecond
	// allocHeadroom is the share of the estimate given out: the rest covers RTCP,
	// retransmissions and the rate a layer exceeds its average by at keyframes.
	allocHeadroom  = 0.9
	baseUpBackoff  = 2 * time.Second
	maxUpBackoff   = 32 * time.Second
	upFailWindow   = 5 * time.Second
	upBackoffReset = 30 * time.Second
	pauseEvidence  = 10 * time.Second
)

// videoAlloc is the congestion-control state of one video subscription.
type videoAlloc struct {
	// ceiling is the layer the subscriber asked for (nil: none, any layer may be chosen);
	// congestion control may go below it, never above. Guarded by Transport.mu; the other
	// fields belong to the allocator goroutine.
	ceiling   *sfu.Track
	backoff   time.Duration
	lastDown  time.Time
	lastUp    time.Time
	estimated bool // the allocator chose the layer at least once
}

// layerChoice is a candidate layer with its rate.
type layerChoice struct {
	track *sfu.Track
	bps   int
}

// allocItem is one video subscription in an allocation round.
type allocItem struct {
	down   *sfu.DownTrack
	state  *videoAlloc
	cands  []layerChoice // flowing layers within the ceiling, lowest rate first
	choice int           // index into cands, -1: paused
}

// allocate shares budget (bit/s) among items: every item gets its lowest candidate while the
// budget lasts (-1, paused, for the others; unless mayPause is false: then every item keeps
// at least its lowest layer), then items step up one layer at a time in turn while the next
// step fits. It returns what is left (negative when lowest layers were kept over budget).
func allocate(budget int, items []*allocItem, mayPause bool) int {
	for _, it := range items {
		it.choice = -1
		if len(it.cands) > 0 && (it.cands[0].bps <= budget || !mayPause) {
			it.choice = 0
			budget -= it.cands[0].bps
		}
	}
	for stepped := true; stepped; {
		stepped = false
		for _, it := range items {
			if it.choice < 0 || it.choice+1 >= len(it.cands) {
				continue
			}
			if extra := it.cands[it.choice+1].bps - it.cands[it.choice].bps; extra <= budget {
				it.choice++
				budget -= extra
				stepped = true
			}
		}
	}
	return budget
}

// candidates returns the layers of src's publication that are flowing and not above
// ceiling, lowest rate first. Without simulcast it is src alone (when flowing).
func candidates(layers []*sfu.Track, ceiling *sfu.Track) []layerChoice {
	var max int
	if ceiling != nil {
		max = ceiling.Bitrate()
	}
	cw, ch := 0, 0
	if ceiling != nil {
		cw, ch = ceiling.Size()
	}
	out := make([]layerChoice, 0, len(layers))
	for _, l := range layers {
		bps := l.Bitrate()
		if bps <= 0 || l.Closed() {
			continue
		}
		if ceiling != nil && l != ceiling {
			if w, h := l.Size(); cw*ch > 0 && w*h > 0 {
				if w*h > cw*ch {
					continue
				}
			} else if max > 0 && bps > max {
				continue
			}
		}
		out = append(out, layerChoice{track: l, bps: bps})
	}
	slices.SortFunc(out, func(a, b layerChoice) int { return cmp.Compare(a.bps, b.bps) })
	return out
}

// apply carries out an item's choice with the upgrade back-off; it returns whether the
// subscription changed layer or pause state.
func (it *allocItem) apply(now time.Time) bool {
	st := it.state
	if st.backoff == 0 {
		st.backoff = baseUpBackoff
	}
	if !st.lastDown.IsZero() && now.Sub(st.lastDown) > upBackoffReset {
		st.backoff = baseUpBackoff
	}
	current := -1
	paused := it.down.Paused()
	if !paused {
		target := it.down.Target()
		current = slices.IndexFunc(it.cands, func(c layerChoice) bool { return c.track == target })
		if current < 0 { // the layer sent stopped flowing (or is above a new ceiling): move now
			current = len(it.cands)
		}
	}
	switch {
	case it.choice == current:
		return false
	case it.choice < current: // down, or pause
		if !st.lastUp.IsZero() && now.Sub(st.lastUp) < upFailWindow {
			st.backoff = min(st.backoff*2, maxUpBackoff)
		}
		st.lastDown = now
	default: // up, or resume
		if !st.lastDown.IsZero() && now.Sub(st.lastDown) < st.backoff {
			return false
		}
		st.lastUp = now
	}
	if it.choice < 0 {
		it.down.SetPaused(true)
		return true
	}
	if err := it.down.Switch(it.cands[it.choice].track); err != nil {
		return false
	}
	if paused {
		it.down.SetPaused(false)
	}
	return true
}
