package agent

import (
	"testing"

	"github.com/conclave-rtc/conclave/common/config"
	"github.com/conclave-rtc/conclave/common/secret"
)

// TestStreamingFromConfig checks that the media-link addresses reach the agent: an advertise
// address set for a streaming agent behind NAT used to be dropped.
func TestStreamingFromConfig(t *testing.T) {
	c := config.Default()
	c.WebRTC.MediaLinkListen, c.WebRTC.MediaLinkAdvertise = "0.0.0.0:7000", "10.0.0.1:7000"
	c.Streaming.AllowTargets = []string{"10.20.0.0/16"}
	cfg := FromConfig(c, "host-a", secret.Key{})
	if cfg.Host != "host-a" || cfg.MediaLinkListen != "0.0.0.0:7000" || cfg.MediaLinkAdvertise != "10.0.0.1:7000" ||
		cfg.Heartbeat != c.Cluster.Heartbeat || len(cfg.AllowTargets) != 1 || cfg.MediaLinkSecret != nil {
		t.Fatalf("FromConfig = %+v", cfg)
	}
}
