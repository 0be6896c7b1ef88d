package agent

import (
	"github.com/conclave-rtc/conclave/common/config"
	"github.com/conclave-rtc/conclave/common/secret"
)

// MediaLinkKeyPurpose derives the media-link ticket key from the cluster key.
const MediaLinkKeyPurpose = "conclave/medialink/v1"

// FromConfig returns the agent configuration for a process configuration. key may be zero
// (no cluster key): tickets are then signed with a random per-process key, which works
// because an agent only redeems tickets it issued itself.
func FromConfig(c config.Config, host string, key secret.Key) Config {
	w := c.WebRTC
	cfg := Config{
		Host:               host,
		Heartbeat:          c.Cluster.Heartbeat,
		UDPPort:            w.UDPPort,
		TCPPort:            w.TCPPort,
		NAT1To1IPs:         w.NAT1To1IPs,
		Interfaces:         w.Interfaces,
		IncludeLoopback:    w.IncludeLoopback,
		ISPs:               w.ISPs,
		Regions:            w.Regions,
		Capacity:           w.Capacity,
		MediaLinkListen:    w.MediaLinkListen,
		MediaLinkAdvertise: w.MediaLinkAdvertise,
	}
	if !key.IsZero() {
		d := key.Derive(MediaLinkKeyPurpose)
		cfg.MediaLinkSecret = d[:]
	}
	return cfg
}
