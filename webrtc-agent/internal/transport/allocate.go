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
	fitBackoff     = 8 * time.Second
	// pauseShare: a video is paused only when the budget left is below this share of its
	// lowest layer. A congested link's estimate drops to about 85 % of what was acknowledged,
	// so a link that carries the lowest layer stays above it; a busy server whose delay
	// spikes fool the estimator (the same drop) does not stop anyone's only video either.
	pauseShare = 0.6
	// pauseDelay is how long a video keeps its lowest layer although it does not fit before
	// it is paused: the estimate undershoots for a moment when a queue drains.
	pauseDelay = time.Second
)

// videoAlloc is the congestion-control state of one video subscription.
type videoAlloc struct {
	// ceiling is the layer the subscriber asked for (nil: none, any layer may be chosen);
	// congestion control may go below it, never above. Guarded by Transport.mu; the other
	// fields belong to the allocator goroutine.
	ceiling  *sfu.Track
	backoff  time.Duration
	lastDown time.Time
	lastUp   time.Time
	starved  time.Time // since when nothing fits (zero: something does)
}

// layerChoice is a candidate layer with its rate: a simulcast layer, and the highest of its
// VP8 temporal layers sent (sfu.AllTemporal: all of them).
type layerChoice struct {
	track *sfu.Track
	tid   uint8
	bps   int
}

// allocItem is one video subscription in an allocation round.
type allocItem struct {
	down   *sfu.DownTrack
	state  *videoAlloc
	cands  []layerChoice // flowing layers within the ceiling, lowest rate first
	layers int           // layers of the publication (1: no simulcast)
	choice int           // index into cands, -1: paused
}

// allocate shares budget (bit/s) among items: every item gets its lowest whole layer while
// the budget lasts; an item whose lowest layer does not fit is paused (-1) only when what is
// left is below pauseShare of that layer and mayPause is true (else it keeps its lowest
// layer), and instead of a pause it gets the highest lower temporal layer of it that fits
// (a half or a quarter of the frame rate: see candidates). Then items step up one layer at
// a time in turn while the next step fits. It returns what is left (negative when lowest
// layers were kept over budget).
func allocate(budget int, items []*allocItem, mayPause bool) int {
	for _, it := range items {
		it.choice = -1
		if len(it.cands) == 0 {
			continue
		}
		base := max(slices.IndexFunc(it.cands, func(c layerChoice) bool { return c.tid == sfu.AllTemporal }), 0)
		lowest := it.cands[base].bps
		starved := float64(budget) < pauseShare*float64(lowest)
		// A video without simulcast is never paused: its only layer is all the subscriber
		// can get, and an estimator fooled by a saturated server or client (delay that is
		// CPU, not the link) must not freeze every such video at once (measured: 128
		// freezes among 200 subscribers of the fan-out bench before this rule).
		single := it.layers == 1
		if lowest <= budget || !mayPause || !starved {
			it.choice = base
		} else {
			// Temporal layers only in place of a pause: a lower rate sent makes the estimate
			// (capped near what gets acknowledged) grow more slowly, so they are no step of
			// their own above it.
			for i := base - 1; i >= 0 && it.choice < 0; i-- {
				if it.cands[i].bps <= budget {
					it.choice = i
				}
			}
			if it.choice < 0 && single {
				it.choice = 0 // its lowest rate, never nothing
			}
		}
		if it.choice >= 0 {
			budget -= it.cands[it.choice].bps
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

// candidates returns the layers of src's publication that are flowing (sending media, not
// only padding: sfu.Track.Flowing) and not above ceiling, lowest rate first. Without
// simulcast it is src alone (when flowing). Layers with VP8 temporal layers also offer lower
// temporal layers alone, at their own rates (see below).
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
		if bps <= 0 && l.Flowing() {
			// Flowing again after a pause: its rate takes a window to be measured anew.
			bps = l.LastBitrate()
		}
		flowing := bps > 0 && l.Flowing()
		if !flowing {
			// A layer the publisher stopped because nobody received it (dynacast.go) is a
			// candidate at the rate it had: choosing it asks the publisher for it again.
			held, rate := l.Held()
			if !held || rate <= 0 {
				continue
			}
			bps = rate
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
		out = append(out, layerChoice{track: l, tid: sfu.AllTemporal, bps: bps})
	}
	slices.SortStableFunc(out, func(a, b layerChoice) int { return cmp.Compare(a.bps, b.bps) })
	// Lower temporal layers, on the lowest layer only: a link too slow for it keeps video at
	// a half or a quarter of the frame rate (with three temporal layers) rather than none, and
	// a publication without simulcast gets steps at all. Larger layers at a reduced frame rate
	// are not offered: in the lab (docs/netlab-results.md) they made a capped subscriber trade
	// smooth motion for size and move between sizes on every wobble of the estimate.
	if len(out) > 0 {
		l := out[0].track
		for tid := 0; tid < l.TemporalLayers()-1; tid++ {
			if r := l.TemporalBitrate(tid); r > 0 && r < out[0].bps && l.Flowing() {
				out = append(out, layerChoice{track: l, tid: uint8(tid), bps: r})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b layerChoice) int { return cmp.Compare(a.bps, b.bps) })
	return out
}

// keepDiscount is the share of its rate a layer the subscriber already receives (or one below
// it) counts for: a layer whose rate wobbles a little above the budget is kept rather than
// dropped and probed for again.
const keepDiscount = 0.85

// discountKept applies keepDiscount to the current layer and those below it (their order
// stays: all are scaled alike, and the next layer up is dearer than the current one's full
// rate).
func (it *allocItem) discountKept() {
	cur := min(it.current(), len(it.cands)-1)
	for i := 0; i <= cur; i++ {
		it.cands[i].bps = int(float64(it.cands[i].bps) * keepDiscount)
	}
}

// current returns the index of the layer the item sends (or is switching to) among its
// candidates, -1 when paused, and len(cands) when that layer is not a candidate any more (it
// stopped flowing or is above a new ceiling: moving off it counts as a step down).
func (it *allocItem) current() int {
	if it.down.Paused() {
		return -1
	}
	target := it.down.Target()
	tid, _ := it.down.Temporal()
	if i := slices.IndexFunc(it.cands, func(c layerChoice) bool { return c.track == target && c.tid == tid }); i >= 0 {
		return i
	}
	return len(it.cands)
}

// stepDown carries out a choice below the current layer at once (a pause when choice < 0);
// a step down soon after a step up doubles the item's up-step back-off.
func (it *allocItem) stepDown(now time.Time) {
	st := it.state
	if st.backoff == 0 || !st.lastDown.IsZero() && now.Sub(st.lastDown) > upBackoffReset {
		st.backoff = baseUpBackoff
	}
	if !st.lastUp.IsZero() && now.Sub(st.lastUp) < upFailWindow {
		st.backoff = min(st.backoff*2, maxUpBackoff)
		st.lastUp = time.Time{} // one failed up-step doubles once, however many steps down follow
	}
	st.lastDown = now
	it.switchTo(it.choice)
}

// mayStepUp reports whether the back-off since the last step down is over. When the estimate
// alone says the next layer fits (fits), the wait is at most fitBackoff: the estimate grew
// back since the step down, and the link may well have recovered.
func (it *allocItem) mayStepUp(now time.Time, fits bool) bool {
	st := it.state
	if st.backoff == 0 || !st.lastDown.IsZero() && now.Sub(st.lastDown) > upBackoffReset {
		st.backoff = baseUpBackoff
	}
	wait := st.backoff
	if fits {
		wait = min(wait, fitBackoff)
	}
	return st.lastDown.IsZero() || now.Sub(st.lastDown) >= wait
}

// stepUp switches to the candidate choice (resuming a paused video).
func (it *allocItem) stepUp(now time.Time, choice int) {
	it.state.lastUp = now
	it.switchTo(choice)
}

// failUp records an up-step that its probe showed the link cannot carry: like an up-step
// undone at once, it doubles the back-off.
func (it *allocItem) failUp(now time.Time) {
	st := it.state
	if st.backoff == 0 {
		st.backoff = baseUpBackoff
	}
	st.backoff = min(st.backoff*2, maxUpBackoff)
	st.lastUp, st.lastDown = time.Time{}, now
}

// switchTo pauses the video (choice < 0) or points it at candidate choice, resuming it.
func (it *allocItem) switchTo(choice int) {
	if choice < 0 {
		it.down.SetPaused(true)
		return
	}
	c := it.cands[choice]
	if err := it.down.Switch(c.track); err != nil {
		return
	}
	it.down.SetTemporal(c.tid)
	it.down.SetPaused(false)
}
