package transport

import (
	"cmp"
	"slices"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
	"github.com/pion/webrtc/v4"
)

// Dynacast (see docs/networks.md): a simulcast publisher need not encode and send a layer
// that nobody receives. Every demandInterval the transport of a simulcast publication looks
// at who needs each layer — a subscriber's down-track sending it or switching to it, a media
// link export on it, a follower that wants it (sfu.Follow) — and asks the publisher, by an
// RTC event the conference agent passes on as a `progress` notification with status
// `layers`, to pause the layers nobody needed for layerIdle and to resume a paused one as
// soon as anyone needs it. The lowest layer is never paused: a new subscriber starts at once.
// A paused layer stays a candidate for congestion control at the rate it had (candidates):
// choosing it is what makes it needed again. Clients that do not understand the notification
// (OWT SDKs) keep sending every layer; nothing else changes for them.
const (
	demandInterval = 500 * time.Millisecond
	// layerIdle: every pause and resume makes the publisher reconfigure its encoder (a
	// keyframe, and in the lab a glitch on its other layers too), so a layer is paused only
	// after a while unused: a subscriber that stepped down for a dip of its estimate usually
	// climbs back within seconds (3 s paused the lab's top layer on such a dip).
	layerIdle = 10 * time.Second
)

// layerDemand is the dynacast state of one simulcast video mid of a publication. Guarded by
// Transport.mu.
type layerDemand struct {
	paused map[string]bool      // rids the publisher was asked to pause
	idle   map[string]time.Time // since when nobody needed a rid (absent: needed)
}

// startDemand runs demand rounds until the transport closes (once per transport); t.mu is
// held.
func (t *Transport) startDemand() {
	if t.demanding || t.closed {
		return
	}
	t.demanding = true
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		tick := time.NewTicker(demandInterval)
		defer tick.Stop()
		for {
			select {
			case <-t.done:
				return
			case now := <-tick.C:
				t.emit(t.demandOnce(now))
			}
		}
	}()
}

// demandOnce updates which layers of every simulcast publication are paused and returns the
// events that tell the publisher.
func (t *Transport) demandOnce(now time.Time) []pendingEvent {
	t.mu.Lock()
	defer t.mu.Unlock()
	var evs []pendingEvent
	for _, id := range sortedOps(t.ops) {
		op := t.ops[id]
		if !op.publish {
			continue
		}
		for _, to := range op.tracks {
			if ls, changed := to.updateDemand(now); changed {
				t.log.Debug("dynacast: layers paused at the publisher", "operation", op.id, "mid", to.mid, "paused", ls)
				evs = append(evs, pendingEvent{controller: op.controller, ev: protocol.RTCEvent{
					Type: protocol.RTCEventLayers, OperationID: op.id, Layers: &protocol.RTCLayers{Mid: to.mid, Paused: ls}}})
			}
		}
	}
	return evs
}

// updateDemand applies one demand round to a publication mid and reports the rids to keep
// paused when that set changed. Layers are ordered by picture size; until every layer's
// size is known nothing is paused.
func (to *trackOp) updateDemand(now time.Time) (paused []string, changed bool) {
	if to.kind != webrtc.RTPCodecTypeVideo || len(to.published) < 2 {
		return nil, false
	}
	type layer struct {
		rid  string
		t    *sfu.Track
		area int
	}
	var ls []layer
	for rid, st := range to.published {
		w, h := st.Size()
		if w*h == 0 {
			return nil, false
		}
		ls = append(ls, layer{rid, st, w * h})
	}
	slices.SortFunc(ls, func(a, b layer) int { return cmp.Or(cmp.Compare(a.area, b.area), cmp.Compare(a.rid, b.rid)) })
	d := to.demand
	if d == nil {
		d = &layerDemand{paused: map[string]bool{}, idle: map[string]time.Time{}}
		to.demand = d
	}
	for i, l := range ls {
		// Polled each round: a layer is paused only once its rate was measured, for
		// congestion control keeps offering it at that rate (a layer it cannot price would
		// never be asked for again).
		l.t.Bitrate()
		rate := l.t.LastBitrate()
		needed := i == 0 || l.t.Sinks() > 0 || l.t.WantedWithin(2*demandInterval)
		switch {
		case needed:
			delete(d.idle, l.rid)
			if d.paused[l.rid] {
				delete(d.paused, l.rid)
				l.t.SetHeld(false)
				changed = true
			}
		case d.paused[l.rid]:
		case d.idle[l.rid].IsZero():
			d.idle[l.rid] = now
		case now.Sub(d.idle[l.rid]) >= layerIdle && rate > 0:
			d.paused[l.rid] = true
			l.t.SetHeld(true)
			changed = true
		}
	}
	paused = []string{}
	for _, l := range ls {
		if d.paused[l.rid] {
			paused = append(paused, l.rid)
		}
	}
	return paused, changed
}

// sortedOps returns the operation ids in order (events go out in a stable order).
func sortedOps(ops map[string]*operation) []string {
	ids := make([]string, 0, len(ops))
	for id := range ops {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
