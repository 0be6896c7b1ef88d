package agent

import (
	"github.com/conclave-rtc/conclave/common/config"
	"github.com/conclave-rtc/conclave/common/secret"
)

// MediaLinkKeyPurpose derives the media-link ticket key from the cluster key (the same
// purpose as the webrtc agent's: every agent's tickets are keyed alike).
const MediaLinkKeyPurpose = "conclave/medialink/v1"

// FromConfig returns the agent configuration for a process configuration: the host,
// heartbeat, key and the media-link listen address (webrtc.mediaLinkListen, shared by every
// agent that serves media links); everything else takes the defaults documented on Config.
// key may be zero: tickets are then signed with a random per-process key.
func FromConfig(c config.Config, host string, key secret.Key) Config {
	cfg := Config{Host: host, Heartbeat: c.Cluster.Heartbeat, MediaLinkListen: c.WebRTC.MediaLinkListen}
	if !key.IsZero() {
		d := key.Derive(MediaLinkKeyPurpose)
		cfg.MediaLinkSecret = d[:]
	}
	return cfg
}
