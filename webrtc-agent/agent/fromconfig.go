package agent

import (
	"github.com/conclave-rtc/conclave/common/config"
	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/secret"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/transport"
)

// FromConfig returns the agent configuration for a process configuration, the ticket key
// derived from key (medialink.DeriveSecret). key may be zero (no cluster key): tickets are
// then signed with a random per-process key, which works because an agent only redeems
// tickets it issued itself.
func FromConfig(c config.Config, host string, key secret.Key) Config {
	w := c.WebRTC
	return Config{
		Host:               host,
		Heartbeat:          c.Cluster.Heartbeat,
		UDPPort:            w.UDPPort,
		TCPPort:            w.TCPPort,
		NAT1To1IPs:         w.NAT1To1IPs,
		Interfaces:         w.Interfaces,
		IncludeLoopback:    w.IncludeLoopback,
		WriteBatchWindow:   w.WriteBatchWindow,
		ISPs:               w.ISPs,
		Regions:            w.Regions,
		Capacity:           w.Capacity,
		MediaLinkListen:    w.MediaLinkListen,
		MediaLinkAdvertise: w.MediaLinkAdvertise,
		MediaLinkSecret:    medialink.DeriveSecret(key),
		Congestion: transport.CongestionConfig{Disabled: !w.CongestionControl.Enabled,
			InitialBitrate: w.CongestionControl.InitialBitrate, MaxBitrate: w.CongestionControl.MaxBitrate},
	}
}
