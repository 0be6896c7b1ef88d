package transport

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
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

// startAllocator runs allocation rounds until the transport closes (once per transport);
// while a probe runs it also paces the probe's padding.
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
		pace := time.NewTicker(probePace)
		pace.Stop()
		for {
			select {
			case <-t.done:
				return
			case now := <-tick.C:
				was := t.probe != nil
				t.allocateOnce(now)
				if !was && t.probe != nil {
					pace.Reset(probePace)
				} else if was && t.probe == nil {
					pace.Stop()
				}
			case now := <-pace.C:
				if t.probe != nil {
					t.probe.pad(now)
				}
			}
		}
	}()
}

// Probing (see allocate.go): before a video steps up (or a paused one resumes), the transport
// sends padding for probeTime so that the link carries the rate the step would need; the step
// is taken only if the estimate did not fall meanwhile. The rate a probe proved is then
// trusted (the allocator's estimate is at least that) until the estimate falls: GCC's own
// estimate grows slowly where the link was not yet tried.
const (
	probeTime = 1500 * time.Millisecond
	probePace = 20 * time.Millisecond
	// probeOverhead is the share of padding above the step's rate.
	probeOverhead = 1.2
	// paddingWire is a padding packet's bytes on the wire (padding, RTP header with the
	// transport-wide sequence number, SRTP tag, UDP/IP), for pacing.
	paddingWire = sfu.MaxPadding + 12 + 8 + 16 + 28
)

// probe is one running bandwidth probe.
type probe struct {
	it         *allocItem
	choice     int         // the candidate to step up to (its index when the probe began)
	target     layerChoice // that candidate
	start, end time.Time   //
	bps        int         // padding rate
	proves     int         // the budget the step needs: trusted after a successful probe
	owed       float64     // padding bytes due and not yet sent
	last       time.Time
}

// pad sends the padding due since the last call, in packets of sfu.MaxPadding bytes. Padding
// that cannot go now (in the middle of a frame) is sent later, up to 100 ms worth.
func (p *probe) pad(now time.Time) {
	if !p.last.IsZero() {
		p.owed += float64(p.bps) / 8 * now.Sub(p.last).Seconds()
	}
	p.last = now
	p.owed = min(p.owed, float64(p.bps)/8*0.1)
	if n := int(p.owed / paddingWire); n > 0 {
		p.owed -= float64(p.it.down.WritePadding(n, sfu.MaxPadding) * paddingWire)
	}
}

// allocateOnce runs one allocation round (see allocate.go).
func (t *Transport) allocateOnce(now time.Time) {
	est, source := t.Estimate()
	if source == "" {
		t.probe = nil
		return
	}
	if est < t.estPrev*95/100 {
		t.estFellAt = now
		t.trusted = 0 // congestion: what probes proved no longer holds
	}
	t.estPrev = est
	audio, items := t.allocItems()
	if len(items) == 0 {
		t.probe = nil
		return
	}
	budget := int(float64(max(est, t.trusted))*allocHeadroom) - audio
	for _, it := range items {
		it.discountKept()
	}
	allocate(budget, items, !t.estFellAt.IsZero() && now.Sub(t.estFellAt) < pauseEvidence)
	if now.Sub(t.loggedAt) >= time.Second && t.log.Enabled(context.Background(), slog.LevelDebug) {
		t.loggedAt = now
		for _, it := range items {
			t.log.Debug("congestion control", "track", it.down.ID(), "estimate", est, "trusted", t.trusted,
				"budget", budget, "sending", choiceName(it, it.current()), "fits", choiceName(it, it.choice),
				"probing", t.probe != nil)
		}
	}
	var up []*allocItem // items below their best layer
	for _, it := range items {
		cur := it.current()
		if it.choice >= 0 {
			it.state.starved = time.Time{}
		} else if cur >= 0 {
			if it.state.starved.IsZero() {
				it.state.starved = now
			}
			if now.Sub(it.state.starved) < pauseDelay {
				it.choice = 0 // not paused yet: the lowest layer meanwhile
			}
		}
		switch {
		case it.choice < cur:
			if t.probe != nil && t.probe.it.down == it.down {
				t.probe = nil
			}
			it.stepDown(now)
			t.log.Debug("congestion control: down", "track", it.down.ID(), "estimate", est, "source", source,
				"layer", choiceName(it, it.choice))
		case cur < len(it.cands)-1:
			up = append(up, it) // below its best layer: probed when its back-off allows
		}
	}
	t.runProbe(now, est, audio, items, up)
}

// runProbe ends the running probe (stepping up when the estimate held) or starts one for the
// first item below its best layer whose back-off is over, whatever the estimate says: GCC
// caps its estimate at 1.5 times the rate it sees acknowledged, and a paused video sends
// nothing to be acknowledged, so only a probe can show that a higher layer fits.
func (t *Transport) runProbe(now time.Time, est, audio int, items, up []*allocItem) {
	if p := t.probe; p != nil {
		it := itemOf(items, p.it.down)
		switch {
		case it == nil: // the subscription ended or lost its candidates
			t.probe = nil
		case t.estFellAt.After(p.start):
			it.failUp(now)
			t.probe = nil
			t.log.Debug("congestion control: probe failed", "track", it.down.ID(), "estimate", est)
		case !now.Before(p.end):
			// The candidates are listed afresh every round, and their order follows their
			// rates: the layer probed for is found again by what it is, not by its index.
			if i := slices.IndexFunc(it.cands, func(c layerChoice) bool { return c.track == p.target.track && c.tid == p.target.tid }); i >= 0 {
				it.stepUp(now, i)
				t.trusted = max(t.trusted, p.proves)
				t.log.Debug("congestion control: up", "track", it.down.ID(), "estimate", est,
					"layer", choiceName(it, i))
			}
			t.probe = nil
		}
		return
	}
	for _, it := range up {
		cur := it.current()
		if !it.mayStepUp(now, it.choice > cur) {
			continue
		}
		// One step, or straight to what the estimate says fits: a recovered link need not
		// climb every temporal and spatial step with a probe each.
		next := min(max(cur+1, it.choice), len(it.cands)-1)
		if next <= cur && cur >= 0 {
			continue
		}
		extra := it.cands[next].bps
		if cur >= 0 && cur < len(it.cands) {
			extra -= it.cands[cur].bps
		}
		if extra <= 0 {
			it.stepUp(now, next) // no dearer: nothing to probe
			continue
		}
		sending := audio
		for _, o := range items {
			if c := o.current(); c >= 0 && c < len(o.cands) {
				sending += o.cands[c].bps
			}
		}
		t.probe = &probe{it: it, choice: next, target: it.cands[next], start: now, end: now.Add(probeTime),
			bps: int(float64(extra) * probeOverhead)}
		t.probe.proves = int(float64(sending+t.probe.bps) / allocHeadroom)
		return
	}
}

// itemOf finds the item of down in items.
func itemOf(items []*allocItem, down *sfu.DownTrack) *allocItem {
	for _, it := range items {
		if it.down == down {
			return it
		}
	}
	return nil
}

func choiceName(it *allocItem, choice int) string {
	if choice < 0 || choice >= len(it.cands) {
		return "paused"
	}
	if c := it.cands[choice]; c.tid != sfu.AllTemporal {
		return c.track.ID() + "/T" + strconv.Itoa(int(c.tid))
	}
	return it.cands[choice].track.ID()
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
		layers := t.layersOf(v.down.Target())
		cands := candidates(layers, v.ceiling)
		if len(cands) == 0 {
			continue // nothing measured yet (or nothing flowing): leave it alone
		}
		items = append(items, &allocItem{down: v.down, state: v.state, cands: cands, layers: len(layers)})
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
			bytes, switches, pauses, padding := d.Counters()
			resent, missed := d.Retransmitted()
			ts := protocol.SubscriptionTrackStats{Mid: to.mid, Type: to.kind.String(),
				Source: d.Target().ID(), Paused: d.Paused(), Active: d.Active(), Packets: d.Sent(), Bytes: bytes,
				LayerSwitches: switches, Pauses: pauses, Padding: padding, Retransmitted: resent, RetransmitMissed: missed,
				TemporalDropped: d.TemporalDropped(), KeyframeRequests: d.KeyframeRequests()}
			if max, _ := d.Temporal(); max != sfu.AllTemporal {
				layer := int(max)
				ts.TemporalLayer = &layer
			}
			sub.Tracks = append(sub.Tracks, ts)
		}
		out.Subscriptions = append(out.Subscriptions, sub)
	}
	slices.SortFunc(out.Subscriptions, func(a, b protocol.SubscriptionStats) int { return strings.Compare(a.ID, b.ID) })
	return out
}
