package transport

import (
	"slices"
	"strings"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// noteFeedback records what a subscriber's RTCP says about its link: transport-wide-cc
// feedback (the estimator itself reads it in pion's interceptor chain) or a REMB.
func (t *Transport) noteFeedback(pkts []rtcp.Packet) {
	for _, p := range pkts {
		switch p := p.(type) {
		case *rtcp.TransportLayerCC:
			t.twccSeen.Store(true)
		case *rtcp.ReceiverEstimatedMaximumBitrate:
			t.remb.Store(uint64(p.Bitrate))
		}
	}
}

// Estimate returns the bandwidth estimate toward the client in bit/s and where it comes
// from: "twcc" (send-side GCC on transport-wide-cc feedback), "remb" (the client's own
// estimate) or "" when the client sends neither (no congestion control: the estimate is 0).
func (t *Transport) Estimate() (bps int, source string) {
	t.mu.Lock()
	bwe := t.bwe
	t.mu.Unlock()
	switch {
	case bwe != nil && t.twccSeen.Load():
		return bwe.GetTargetBitrate(), "twcc"
	case t.remb.Load() > 0:
		return int(t.remb.Load()), "remb"
	}
	return 0, ""
}

// startAllocator runs allocation rounds until the transport closes (once per transport).
func (t *Transport) startAllocator() {
	if t.allocating || t.closed {
		return
	}
	t.allocating = true
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		tick := time.NewTicker(allocInterval)
		defer tick.Stop()
		for {
			select {
			case <-t.done:
				return
			case now := <-tick.C:
				t.allocateOnce(now)
			}
		}
	}()
}

// allocateOnce runs one allocation round (see allocate.go).
func (t *Transport) allocateOnce(now time.Time) {
	est, source := t.Estimate()
	if source == "" {
		return
	}
	audio, items := t.allocItems()
	if len(items) == 0 {
		return
	}
	if est < t.estPrev*95/100 {
		t.estFellAt = now
	}
	t.estPrev = est
	budget := int(float64(est)*allocHeadroom) - audio
	allocate(budget, items, !t.estFellAt.IsZero() && now.Sub(t.estFellAt) < pauseEvidence)
	for _, it := range items {
		if it.apply(now) {
			t.log.Debug("congestion control", "track", it.down.ID(), "estimate", est, "source", source,
				"layer", choiceName(it), "paused", it.choice < 0)
		}
		it.state.estimated = true
	}
}

func choiceName(it *allocItem) string {
	if it.choice < 0 {
		return ""
	}
	return it.cands[it.choice].track.ID()
}

// allocItems collects the rate of the audio sent and the video subscriptions that have
// layers to choose from, in mid order.
func (t *Transport) allocItems() (audio int, items []*allocItem) {
	type video struct {
		mid     string
		down    *sfu.DownTrack
		state   *videoAlloc
		ceiling *sfu.Track
	}
	var videos []video
	var audios []*sfu.DownTrack
	t.mu.Lock()
	for mid, to := range t.mids {
		if to.down == nil || !to.negotiated {
			continue
		}
		if to.kind == webrtc.RTPCodecTypeAudio {
			audios = append(audios, to.down)
		} else if to.alloc != nil {
			videos = append(videos, video{mid, to.down, to.alloc, to.alloc.ceiling})
		}
	}
	t.mu.Unlock()
	for _, d := range audios {
		if d.Active() {
			audio += d.Source().Bitrate()
		}
	}
	slices.SortFunc(videos, func(a, b video) int { return cmpMid(a.mid, b.mid) })
	for _, v := range videos {
		if !v.down.Active() {
			continue // muted by the subscriber: sends nothing, needs nothing
		}
		cands := candidates(t.layersOf(v.down.Target()), v.ceiling)
		if len(cands) == 0 {
			continue // nothing measured yet (or nothing flowing): leave it alone
		}
		items = append(items, &allocItem{down: v.down, state: v.state, cands: cands})
	}
	return audio, items
}

// layersOf returns the simulcast layers of src's publication (src alone without simulcast
// or when the agent cannot tell).
func (t *Transport) layersOf(src *sfu.Track) []*sfu.Track {
	if t.cfg.Layers != nil {
		if ls := t.cfg.Layers(src); len(ls) > 0 {
			return ls
		}
	}
	return []*sfu.Track{src}
}

// ceilingFor returns the ceiling a request for layer sets: none when it is the largest
// layer of its publication or when sizes are not known yet (a subscriber asking for no
// particular layer gets the largest), else the layer itself.
func (t *Transport) ceilingFor(layer *sfu.Track) *sfu.Track {
	lw, lh := layer.Size()
	if lw*lh == 0 {
		return nil
	}
	for _, l := range t.layersOf(layer) {
		if w, h := l.Size(); l != layer && w*h > lw*lh {
			return layer
		}
	}
	return nil
}

// cmpMid orders mids numerically when they are numbers ("2" before "10").
func cmpMid(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Stats returns the transport's estimate and the state of every subscription track on it,
// subscriptions in id order.
func (t *Transport) Stats() protocol.TransportStats {
	est, source := t.Estimate()
	out := protocol.TransportStats{ID: t.cfg.ID, Estimate: est, EstimateSource: source,
		Subscriptions: []protocol.SubscriptionStats{}}
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, op := range t.ops {
		if op.publish {
			continue
		}
		sub := protocol.SubscriptionStats{ID: id}
		for _, to := range op.tracks {
			d := to.down
			bytes, switches, pauses := d.Counters()
			resent, missed := d.Retransmitted()
			sub.Tracks = append(sub.Tracks, protocol.SubscriptionTrackStats{Mid: to.mid, Type: to.kind.String(),
				Source: d.Target().ID(), Paused: d.Paused(), Active: d.Active(), Packets: d.Sent(), Bytes: bytes,
				LayerSwitches: switches, Pauses: pauses, Retransmitted: resent, RetransmitMissed: missed})
		}
		out.Subscriptions = append(out.Subscriptions, sub)
	}
	slices.SortFunc(out.Subscriptions, func(a, b protocol.SubscriptionStats) int { return strings.Compare(a.ID, b.ID) })
	return out
}
