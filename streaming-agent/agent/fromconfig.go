package agent

import (
	"github.com/conclave-rtc/conclave/common/config"
	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/secret"
)

// FromConfig returns the agent configuration for a process configuration: the host,
// heartbeat, key and the media-link listen/advertise addresses (webrtc.mediaLinkListen and
// webrtc.mediaLinkAdvertise, shared by every agent that serves media links); everything else takes the defaults documented on Config.
// The ticket key is derived from key (medialink.DeriveSecret); key may be zero: tickets are
// then signed with a random per-process key.
func FromConfig(c config.Config, host string, key secret.Key) Config {
	return Config{Host: host, Heartbeat: c.Cluster.Heartbeat, MediaLinkListen: c.WebRTC.MediaLinkListen,
		MediaLinkAdvertise: c.WebRTC.MediaLinkAdvertise, MediaLinkSecret: medialink.DeriveSecret(key), AllowTargets: c.Streaming.AllowTargets}
}
