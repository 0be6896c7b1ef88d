package agent

import (
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// scrape gathers the agent's collector into name{label=value,…} → value.
func scrape(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(labels)
			key := f.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}

// TestAgentMetrics: the collector reports a publication and a subscription while they run,
// and its counters do not go back when the subscriber's transport is destroyed.
func TestAgentMetrics(t *testing.T) {
	hub := local.NewHub(local.Config{})
	a := startAgent(t, hub)
	ctrl := newController(t, hub)
	reg := prometheus.NewRegistry()
	reg.MustRegister(a.Collector())

	publishAV(t, ctrl, a, "tp-pub")
	sub := subscribeAV(t, ctrl, a, "tp-sub", protocol.TrackRef{Agent: a.ID(), TrackID: "tp-pub"})
	sub.waitPackets(t, "1", 30)
	live := scrape(t, reg)
	for key, want := range map[string]float64{
		"conclave_webrtc_transports":                                    2,
		"conclave_webrtc_publication_tracks":                            2,
		"conclave_webrtc_subscriptions":                                 1,
		"conclave_webrtc_subscription_tracks{kind=audio,state=sending}": 1,
		"conclave_webrtc_subscription_tracks{kind=video,state=sending}": 1,
		"conclave_webrtc_subscription_tracks{kind=video,state=paused}":  0,
		"conclave_webrtc_transports_by_estimate{le=+Inf}":               1,
		"conclave_webrtc_transports_by_estimate_source{source=twcc}":    1,
	} {
		if got, ok := live[key]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	for _, key := range []string{"conclave_webrtc_sent_packets_total", "conclave_webrtc_sent_bytes_total",
		"conclave_webrtc_received_packets_total", "conclave_webrtc_received_bytes_total", "conclave_webrtc_keyframe_requests_total"} {
		if live[key] <= 0 {
			t.Errorf("%s = %v while media flows", key, live[key])
		}
	}

	for _, key := range []string{"conclave_webrtc_temporal_dropped_frames_total",
		"conclave_webrtc_subscriber_keyframe_requests_total", "conclave_webrtc_paused_publication_layers"} {
		if _, ok := live[key]; !ok {
			t.Errorf("%s missing", key)
		}
	}
	if live["conclave_webrtc_paused_publication_layers"] != 0 {
		t.Errorf("paused layers %v without simulcast", live["conclave_webrtc_paused_publication_layers"])
	}

	if err := ctrl.call(a.ID(), protocol.MethodRTCDestroyTransport, protocol.RTCOperation{TransportID: "tp-sub"}); err != nil {
		t.Fatalf("destroy the subscriber's transport: %v", err)
	}
	after := scrape(t, reg)
	if after["conclave_webrtc_transports"] != 1 || after["conclave_webrtc_subscriptions"] != 0 {
		t.Errorf("after the destroy: %v transports, %v subscriptions; want 1 and 0",
			after["conclave_webrtc_transports"], after["conclave_webrtc_subscriptions"])
	}
	for key, v := range live {
		if strings.HasSuffix(key, "_total") && after[key] < v {
			t.Errorf("counter %s went back from %v to %v when a transport closed", key, v, after[key])
		}
	}
}
