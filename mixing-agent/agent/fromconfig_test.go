package agent

import (
	"bytes"
	"testing"

	"github.com/conclave-rtc/conclave/common/config"
	"github.com/conclave-rtc/conclave/common/secret"
)

func TestMixFromConfig(t *testing.T) {
	c := config.Default()
	c.WebRTC.MediaLinkAdvertise = "10.0.0.1:7000"
	cfg := FromConfig(c, "host-a", secret.Key{})
	if cfg.Host != "host-a" || cfg.MediaLinkListen != c.WebRTC.MediaLinkListen || cfg.MediaLinkAdvertise != "10.0.0.1:7000" ||
		cfg.Heartbeat != c.Cluster.Heartbeat || cfg.Capacity != c.Mixing.Capacity || cfg.MediaLinkSecret != nil {
		t.Fatalf("FromConfig = %+v", cfg)
	}
	var key secret.Key
	key[0] = 1
	a, b := FromConfig(c, "h", key), FromConfig(c, "h", key)
	if len(a.MediaLinkSecret) != 32 || !bytes.Equal(a.MediaLinkSecret, b.MediaLinkSecret) {
		t.Fatalf("derived media-link secret %x / %x", a.MediaLinkSecret, b.MediaLinkSecret)
	}
}
