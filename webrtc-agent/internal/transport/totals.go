package transport

import (
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
	"github.com/pion/webrtc/v4"
)

// Totals is what a transport's subscriptions sent since it was created, counting the
// subscriptions that ended (monotonic: for Prometheus counters), and what they are doing
// now (gauges).
type Totals struct {
	// Counters, cumulative over the transport's life.
	Packets, Bytes, LayerSwitches, Pauses, Padding, Retransmitted, RetransmitMissed uint64
	TemporalDropped, KeyframeRequests                                               uint64
	// Gauges: live subscriptions, their tracks by kind and state, the estimate toward the
	// client ("twcc", "remb" or "" without congestion control; bit/s).
	Subscriptions                         int
	AudioSending, AudioMuted              int
	VideoSending, VideoPaused, VideoMuted int
	EstimateSource                        string
	Estimate                              int
}

// AddCounters adds o's counters (not its gauges) to t.
func (t *Totals) AddCounters(o Totals) {
	t.Packets += o.Packets
	t.Bytes += o.Bytes
	t.LayerSwitches += o.LayerSwitches
	t.Pauses += o.Pauses
	t.Padding += o.Padding
	t.Retransmitted += o.Retransmitted
	t.RetransmitMissed += o.RetransmitMissed
	t.TemporalDropped += o.TemporalDropped
	t.KeyframeRequests += o.KeyframeRequests
}

// AddGauges adds o's track and subscription counts (not its estimate) to t.
func (t *Totals) AddGauges(o Totals) {
	t.Subscriptions += o.Subscriptions
	t.AudioSending += o.AudioSending
	t.AudioMuted += o.AudioMuted
	t.VideoSending += o.VideoSending
	t.VideoPaused += o.VideoPaused
	t.VideoMuted += o.VideoMuted
}

// addDown adds what d sent to t's counters.
func (t *Totals) addDown(d *sfu.DownTrack) {
	bytes, switches, pauses, padding := d.Counters()
	resent, missed := d.Retransmitted()
	t.Packets += d.Sent()
	t.Bytes += bytes
	t.LayerSwitches += switches
	t.Pauses += pauses
	t.Padding += padding
	t.Retransmitted += resent
	t.RetransmitMissed += missed
	t.TemporalDropped += d.TemporalDropped()
	t.KeyframeRequests += d.KeyframeRequests()
}

// retireLocked adds the counters of op's down-tracks to the transport's retired totals: op
// leaves the transport (t.mu is held), and the counters must not go backwards.
func (t *Transport) retireLocked(op *operation) {
	if op.publish {
		return
	}
	for _, to := range op.tracks {
		if to.down != nil {
			t.retired.addDown(to.down)
		}
	}
}

// Totals returns the transport's cumulative counters and current gauges.
func (t *Transport) Totals() Totals {
	est, source := t.Estimate()
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.retired
	out.Estimate, out.EstimateSource = est, source
	for _, op := range t.ops {
		if op.publish {
			continue
		}
		out.Subscriptions++
		for _, to := range op.tracks {
			d := to.down
			if d == nil {
				continue
			}
			out.addDown(d)
			switch {
			case to.kind == webrtc.RTPCodecTypeVideo && !d.Active():
				out.VideoMuted++
			case to.kind == webrtc.RTPCodecTypeVideo && d.Paused():
				out.VideoPaused++
			case to.kind == webrtc.RTPCodecTypeVideo:
				out.VideoSending++
			case !d.Active():
				out.AudioMuted++
			default:
				out.AudioSending++
			}
		}
	}
	return out
}
