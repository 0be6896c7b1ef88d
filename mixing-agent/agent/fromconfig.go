package agent

import (
	"github.com/conclave-rtc/conclave/common/config"
	"github.com/conclave-rtc/conclave/common/secret"
)

// MediaLinkKeyPurpose derives the media-link ticket key from the cluster key (the same
// purpose as every other agent's: tickets are keyed alike).
const MediaLinkKeyPurpose = "conclave/medialink/v1"

// FromConfig returns the agent configuration for a process configuration: the host,
// heartbeat, mixing.capacity, key and the media-link listen/advertise addresses (webrtc.mediaLinkListen and
// webrtc.mediaLinkAdvertise, shared by every agent that serves media links); everything else
// takes the defaults documented on Config. key may be zero: tickets are then signed with a
// random per-process key.
func FromConfig(c config.Config, host string, key secret.Key) Config {
	cfg := Config{Host: host, Heartbeat: c.Cluster.Heartbeat, Capacity: c.Mixing.Capacity,
		MediaLinkListen: c.WebRTC.MediaLinkListen, MediaLinkAdvertise: c.WebRTC.MediaLinkAdvertise}
	if !key.IsZero() {
		d := key.Derive(MediaLinkKeyPurpose)
		cfg.MediaLinkSecret = d[:]
	}
	return cfg
}
