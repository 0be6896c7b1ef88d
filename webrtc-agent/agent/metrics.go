package agent

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/transport"
)

// ingress is what publication and relay tracks received and asked for.
type ingress struct {
	packets, bytes, keyframeRequests uint64
}

func (in *ingress) add(t *sfu.Track) {
	in.packets += t.Packets()
	in.bytes += t.Bytes()
	in.keyframeRequests += t.KeyframeRequests()
}

// retireTrackLocked keeps the counters of a track leaving a.tracks (a.mu is held).
func (a *Agent) retireTrackLocked(t *sfu.Track) { a.retiredIn.add(t) }

// closingTransportLocked keeps a transport that left a.transports counted until it is
// closed and its counters are retired (a.mu is held): the counters never go backwards.
func (a *Agent) closingTransportLocked(tr *transport.Transport) { a.closing[tr] = struct{}{} }

// retireTransport moves a closed transport's counters into the agent's retired totals.
func (a *Agent) retireTransport(tr *transport.Transport) {
	t := tr.Totals()
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.closing[tr]; ok {
		a.retired.AddCounters(t)
		delete(a.closing, tr)
	}
}

// estimateBuckets are the upper bounds (bit/s) of transports_by_estimate: from a starved
// mobile link to a LAN.
var estimateBuckets = []float64{150e3, 300e3, 600e3, 1.2e6, 2.5e6, 5e6, 10e6, 20e6}

// collector exposes an agent's media state to Prometheus: what it receives from
// publishers, what it sends to subscribers and what congestion control does, summed over
// its transports (per-subscription figures are in the REST participant details; labels per
// subscription would grow without bound).
type collector struct {
	a                                               *Agent
	transports, pubTracks, subTracks, subscriptions *prometheus.Desc
	transportsByEstimate, estimate                  *prometheus.Desc
	rxPackets, rxBytes, keyframeRequests            *prometheus.Desc
	txPackets, txBytes, switches, pauses, padding   *prometheus.Desc
	retransmitted, retransmitMissed                 *prometheus.Desc
	temporalDropped, subKeyframes, heldLayers       *prometheus.Desc
}

// Collector returns a Prometheus collector of the agent's metrics (namespace conclave,
// subsystem webrtc). Register it in one registry only.
func (a *Agent) Collector() prometheus.Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName("conclave", "webrtc", name), help, labels, nil)
	}
	return &collector{a: a,
		transports:           d("transports", "Open transports (PeerConnections)."),
		pubTracks:            d("publication_tracks", "Tracks received: publications (one per simulcast layer) and relays from other agents."),
		subscriptions:        d("subscriptions", "Live subscriptions."),
		subTracks:            d("subscription_tracks", "Subscribed tracks by kind and state: sending, paused by congestion control (video whose lowest layer does not fit), muted by the subscriber.", "kind", "state"),
		transportsByEstimate: d("transports_by_estimate_source", "Transports with subscriptions by where their bandwidth estimate comes from: twcc (send-side), remb (the client's), none.", "source"),
		estimate:             d("transports_by_estimate", "Transports with an estimate at or below le bit/s (cumulative, like histogram buckets, but a gauge: the distribution now).", "le"),
		rxPackets:            d("received_packets_total", "RTP packets received on publication and relay tracks."),
		rxBytes:              d("received_bytes_total", "RTP bytes (headers included) received on publication and relay tracks."),
		keyframeRequests:     d("keyframe_requests_total", "Keyframe requests (PLI) sent to publishers and exporting agents, after throttling."),
		txPackets:            d("sent_packets_total", "RTP packets sent to subscribers (retransmissions and padding not included)."),
		txBytes:              d("sent_bytes_total", "RTP payload bytes sent to subscribers."),
		switches:             d("layer_switches_total", "Completed source switches of subscribed tracks (simulcast layers)."),
		pauses:               d("pauses_total", "Videos paused by congestion control."),
		padding:              d("padding_packets_total", "Padding-only packets sent as bandwidth probes."),
		retransmitted:        d("retransmitted_packets_total", "Packets resent for subscribers' NACKs."),
		retransmitMissed:     d("retransmit_missed_total", "NACKed packets no longer in the history."),
		temporalDropped:      d("temporal_dropped_frames_total", "Frames of VP8 temporal layers left out by congestion control (reduced frame rates)."),
		subKeyframes:         d("subscriber_keyframe_requests_total", "Keyframe requests (PLI, FIR) received from subscribers: pictures they could not decode."),
		heldLayers:           d("paused_publication_layers", "Simulcast layers the publisher was asked to pause because nobody receives them (dynacast)."),
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.transports, c.pubTracks, c.subscriptions, c.subTracks, c.transportsByEstimate,
		c.estimate, c.rxPackets, c.rxBytes, c.keyframeRequests, c.txPackets, c.txBytes, c.switches, c.pauses,
		c.padding, c.retransmitted, c.retransmitMissed, c.temporalDropped, c.subKeyframes, c.heldLayers} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: one pass over the agent's transports and tracks.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	a := c.a
	a.mu.Lock()
	trs := make([]*transport.Transport, 0, len(a.transports)+len(a.closing))
	for _, tr := range a.transports {
		trs = append(trs, tr)
	}
	open := len(trs)
	for tr := range a.closing {
		trs = append(trs, tr)
	}
	tracks := make([]*sfu.Track, 0, len(a.tracks))
	for _, t := range a.tracks {
		tracks = append(tracks, t)
	}
	sum, in := a.retired, a.retiredIn
	a.mu.Unlock()

	for _, t := range tracks {
		in.add(t)
	}
	bySource := map[string]int{"twcc": 0, "remb": 0, "none": 0}
	var estimates []float64
	for _, tr := range trs {
		t := tr.Totals()
		sum.AddCounters(t)
		sum.AddGauges(t)
		if t.Subscriptions == 0 {
			continue
		}
		if t.EstimateSource == "" {
			bySource["none"]++
			continue
		}
		bySource[t.EstimateSource]++
		estimates = append(estimates, float64(t.Estimate))
	}

	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(c.transports, open)
	gauge(c.pubTracks, len(tracks))
	gauge(c.subscriptions, sum.Subscriptions)
	gauge(c.subTracks, sum.AudioSending, "audio", "sending")
	gauge(c.subTracks, sum.AudioMuted, "audio", "muted")
	gauge(c.subTracks, sum.VideoSending, "video", "sending")
	gauge(c.subTracks, sum.VideoPaused, "video", "paused")
	gauge(c.subTracks, sum.VideoMuted, "video", "muted")
	for _, s := range []string{"twcc", "remb", "none"} {
		gauge(c.transportsByEstimate, bySource[s], s)
	}
	for _, b := range estimateBuckets {
		n := 0
		for _, v := range estimates {
			if v <= b {
				n++
			}
		}
		gauge(c.estimate, n, strconv.FormatFloat(b, 'f', -1, 64))
	}
	gauge(c.estimate, len(estimates), "+Inf")
	counter(c.rxPackets, in.packets)
	counter(c.rxBytes, in.bytes)
	counter(c.keyframeRequests, in.keyframeRequests)
	counter(c.txPackets, sum.Packets)
	counter(c.txBytes, sum.Bytes)
	counter(c.switches, sum.LayerSwitches)
	counter(c.pauses, sum.Pauses)
	counter(c.padding, sum.Padding)
	counter(c.retransmitted, sum.Retransmitted)
	counter(c.retransmitMissed, sum.RetransmitMissed)
	counter(c.temporalDropped, sum.TemporalDropped)
	counter(c.subKeyframes, sum.KeyframeRequests)
	held := 0
	for _, t := range tracks {
		if h, _ := t.Held(); h {
			held++
		}
	}
	gauge(c.heldLayers, held)
}
