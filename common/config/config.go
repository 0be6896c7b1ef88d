// Package config is the configuration of every Conclave process: defaults, then a YAML file
// (unknown keys rejected), then CONCLAVE_* environment variables, then Validate.
package config

import (
	"maps"
	"net"
	"net/url"
	"slices"
	"time"

	"github.com/conclave-rtc/conclave/common/cluster"
)

// Config is the configuration of a Conclave process. Each process reads the sections it
// needs; the all-in-one binary reads them all.
type Config struct {
	// DataDir holds the embedded store and the generated cluster key (CONCLAVE_DATA_DIR).
	DataDir string `yaml:"dataDir"`
	// ClusterKey is the base64 encoding of the 32-byte secret shared by all processes
	// (CONCLAVE_CLUSTER_KEY). Empty: the all-in-one generates <dataDir>/cluster.key.
	ClusterKey   string             `yaml:"clusterKey"`
	Bus          BusConfig          `yaml:"bus"`
	Store        StoreConfig        `yaml:"store"`
	Management   ManagementConfig   `yaml:"management"`
	Portal       PortalConfig       `yaml:"portal"`
	WebRTC       WebRTCConfig       `yaml:"webrtc"`
	Recording    RecordingConfig    `yaml:"recording"`
	Streaming    StreamingConfig    `yaml:"streaming"`
	Mixing       MixingConfig       `yaml:"mixing"`
	Conference   ConferenceConfig   `yaml:"conference"`
	TURN         TURNConfig         `yaml:"turn"`
	SuperService SuperServiceConfig `yaml:"superService"`
	Log          LogConfig          `yaml:"log"`
	Cluster      ClusterConfig      `yaml:"cluster"`
	// ShutdownTimeout bounds the drain after the first SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout"`
}

// BusConfig selects the message bus.
type BusConfig struct {
	// URL is the RabbitMQ URL, amqp:// or amqps:// (CONCLAVE_BUS_URL). Empty: in-process bus.
	URL string `yaml:"url"`
	// Prefix starts every exchange and queue name, so deployments can share a broker
	// (CONCLAVE_BUS_PREFIX).
	Prefix string `yaml:"prefix"`
}

// StoreConfig selects the database.
type StoreConfig struct {
	// MongoURI is a mongodb:// or mongodb+srv:// URI (CONCLAVE_MONGO_URI). Empty: the
	// embedded store in DataDir.
	MongoURI string `yaml:"mongoURI"`
	// MongoDatabase is the database name (CONCLAVE_MONGO_DATABASE).
	MongoDatabase string `yaml:"mongoDatabase"`
}

// ManagementConfig configures the management REST API.
type ManagementConfig struct {
	// Listen is the host:port to serve on (CONCLAVE_MANAGEMENT_LISTEN).
	Listen string `yaml:"listen"`
	// BodyLimit is the largest request body accepted, in bytes.
	BodyLimit int64 `yaml:"bodyLimit"`
	// ReplayWindow is MAuth replay protection: timestamps must be within ±ReplayWindow and
	// each (service, timestamp, cnonce) is accepted once, across instances. 0 disables it
	// (OWT 5.1's behaviour).
	ReplayWindow time.Duration `yaml:"replayWindow"`
	// CacheTTL is how long service keys stay cached.
	CacheTTL time.Duration `yaml:"cacheTTL"`
	// RateLimit is the request rate allowed per service, per second; 0 disables it.
	RateLimit float64 `yaml:"rateLimit"`
}

// PortalConfig configures the Socket.IO signaling portal.
type PortalConfig struct {
	// Listen is the host:port to serve on (CONCLAVE_PORTAL_LISTEN).
	Listen string `yaml:"listen"`
	// PublicHost is the host:port put into tokens for clients (CONCLAVE_PORTAL_PUBLIC_HOST).
	// Empty: derived from Listen, see PublicAddr.
	PublicHost string `yaml:"publicHost"`
	// Secure tells clients to use https/wss.
	Secure bool `yaml:"secure"`
	// ViaHost is OWT's via_host: an "https://name:port" URL that replaces PublicHost and
	// Secure in tokens (for portals behind a proxy).
	ViaHost string `yaml:"viaHost"`
	// ISPs and Regions are the portal's capacity used by the scheduling matcher.
	ISPs    []string `yaml:"isps"`
	Regions []string `yaml:"regions"`
	// MaxPendingPerAddress and MaxPending bound the Socket.IO sessions that have not logged
	// in, per client address and in total (0: defaults 256 and 10,000; negative: no limit).
	// Behind a proxy every client shares its address: raise the first or limit in the proxy.
	MaxPendingPerAddress int `yaml:"maxPendingPerAddress"`
	MaxPending           int `yaml:"maxPending"`
}

// WebRTCConfig configures the webrtc agent's networking (docs/architecture.md §7).
type WebRTCConfig struct {
	// UDPPort is the one UDP port every PeerConnection shares (0: an ephemeral port chosen
	// at start; set a fixed one for firewalls).
	UDPPort int `yaml:"udpPort"`
	// TCPPort enables ICE-TCP on this port when > 0.
	TCPPort int `yaml:"tcpPort"`
	// NAT1To1IPs are public addresses announced instead of the host candidates' ones.
	NAT1To1IPs []string `yaml:"nat1to1IPs"`
	// Interfaces limits ICE gathering to these interfaces (empty: all but loopback).
	Interfaces []string `yaml:"interfaces"`
	// IncludeLoopback also gathers loopback candidates (single-machine tests and demos); the
	// agent turns it on by itself when Interfaces is empty and it finds only loopback.
	IncludeLoopback bool `yaml:"includeLoopback"`
	// WriteBatchWindow is the longest a datagram to a subscriber waits to leave with others in
	// one sendmmsg(2) (0: the agent's default, 500µs; negative: one sendto(2) per datagram).
	WriteBatchWindow time.Duration `yaml:"writeBatchWindow"`
	// ISPs and Regions are the agent's capacity for the scheduling matcher: a participant whose
	// token preference names an ISP is served by agents listing it (or none).
	ISPs    []string `yaml:"isps"`
	Regions []string `yaml:"regions"`
	// Capacity is the number of transports reported as full load.
	Capacity int `yaml:"capacity"`
	// MediaLinkListen is where other agents fetch this agent's streams (TCP). Empty: derived
	// from the deployment (Config.MediaLinkAddr), never all interfaces.
	MediaLinkListen string `yaml:"mediaLinkListen"`
	// MediaLinkAdvertise is the address other agents dial (port 0: the listener's port);
	// empty: the listen address, or for one on every address the address that reaches the bus
	// (Config.MediaLinkAdvertiseAddr).
	MediaLinkAdvertise string `yaml:"mediaLinkAdvertise"`
	// CongestionControl adapts what each subscriber receives to its link (on by default).
	CongestionControl CongestionControlConfig `yaml:"congestionControl"`
	// MetricsListen is where a separate webrtc-agent process serves its Prometheus metrics
	// (GET /metrics; empty: not served). The all-in-one adds them to the management API's
	// /metrics instead.
	MetricsListen string `yaml:"metricsListen"`
}

// CongestionControlConfig configures congestion control toward subscribers: a bandwidth
// estimate per subscriber PeerConnection (send-side, from transport-wide-cc feedback; the
// subscriber's REMB otherwise) that picks simulcast layers and pauses video that does not fit.
type CongestionControlConfig struct {
	// Enabled turns it on (default true). Off, every subscriber gets the layer it asked for,
	// whatever its link, and packets carry no transport-wide sequence numbers.
	Enabled bool `yaml:"enabled"`
	// InitialBitrate is a new subscriber's estimate before any feedback, in bit/s (what it is
	// first given; default 1,500,000).
	InitialBitrate int `yaml:"initialBitrate"`
	// MaxBitrate caps the estimate, in bit/s (default 20,000,000).
	MaxBitrate int `yaml:"maxBitrate"`
}

// RecordingConfig configures the recording agent.
type RecordingConfig struct {
	// Dir is where recordings are written (<dir>/<recordingId>.<mkv|mp4>). Empty:
	// <dataDir>/recordings.
	Dir string `yaml:"dir"`
	// Capacity is the number of simultaneous recordings one agent accepts.
	Capacity int `yaml:"capacity"`
}

// StreamingConfig configures the streaming agent (streaming-ins and streaming-outs).
type StreamingConfig struct {
	// AllowTargets lists addresses and CIDR prefixes that streaming URLs may reach besides
	// public unicast addresses. Loopback, private, shared, link-local (cloud metadata),
	// multicast and reserved addresses are refused unless listed here, so that tenants cannot
	// make the server reach its own or its network's internal services.
	AllowTargets []string `yaml:"allowTargets"`
}

// MixingConfig configures the mixing agent (mixed views and transcoding, docs/mixing.md).
type MixingConfig struct {
	// Capacity is the number of busy mix/transcode sessions (ones with a consumer) one agent
	// accepts; it reports full load there and refuses more.
	Capacity int `yaml:"capacity"`
}

// ConferenceConfig configures the conference agent (live rooms).
type ConferenceConfig struct {
	// ChatMaxMessages and ChatMaxBytes bound each room's chat history (docs/chat.md): the
	// message count and the bytes of message content kept; the oldest messages are dropped.
	ChatMaxMessages int `yaml:"chatMaxMessages"`
	ChatMaxBytes    int `yaml:"chatMaxBytes"`
	// CleanGrace is how long a room lives on once nobody is in it and nothing runs in it
	// (no participant, recording, streaming-out or streaming-in; OWT: 30 s). Rooms whose
	// participants vanished without leaving end the same way once the portal drops them.
	CleanGrace time.Duration `yaml:"cleanGrace"`
}

// TURNConfig configures the relay that clients behind UDP-blocking firewalls and NATs reach the
// media through (docs/networks.md): the embedded TURN server (the all-in-one starts it, the
// turn-server binary runs it alone) or an external one such as coturn with use-auth-secret,
// sharing Secret; and the ICE servers handed to clients.
type TURNConfig struct {
	// Enabled starts the embedded server in the all-in-one binary (default true).
	Enabled bool `yaml:"enabled"`
	// Listen is the embedded server's UDP and TCP address (CONCLAVE_TURN_LISTEN). Empty: port
	// 3478 on the portal's listen host. Port 0: an ephemeral port (UDP and TCP share it).
	Listen string `yaml:"listen"`
	// TLSListen, CertFile and KeyFile add TURN over TLS (turns:) when all three are set.
	TLSListen string `yaml:"tlsListen"`
	CertFile  string `yaml:"certFile"`
	KeyFile   string `yaml:"keyFile"`
	// Host is the name or address put into the URLs handed out for the embedded server
	// (CONCLAVE_TURN_HOST). Empty: the host of the portal's public address.
	Host string `yaml:"host"`
	// RelayIP is the address of the relayed candidates, the one clients' peers are reached
	// from. Empty: Host when it is an IP address, else the listen address when it names one.
	RelayIP string `yaml:"relayIP"`
	// RelayPortMin and RelayPortMax bound the relay ports (both 0: ephemeral ports).
	RelayPortMin int `yaml:"relayPortMin"`
	RelayPortMax int `yaml:"relayPortMax"`
	// UserQuota is the most allocations one user may hold at once (0: default 50; negative:
	// no limit).
	UserQuota int `yaml:"userQuota"`
	// AllowPeers lists addresses and CIDR prefixes besides public unicast ones the relay may
	// send to: the deployment's own media addresses (the all-in-one adds its webrtc agent's
	// by itself). Loopback, private, link-local and other special addresses are refused
	// otherwise, so the relay cannot reach the deployment's internal services.
	AllowPeers []string `yaml:"allowPeers"`
	// Secret is the shared secret of the TURN REST API credentials (coturn's
	// static-auth-secret; CONCLAVE_TURN_SECRET). Empty: derived from the cluster key.
	Secret string `yaml:"secret"`
	// CredentialTTL is the lifetime of the credentials handed out (default 12h).
	CredentialTTL time.Duration `yaml:"credentialTTL"`
	// URLs are the ICE server URLs handed out (stun:, turn:, turns:). Empty: the embedded
	// server's, when it is enabled.
	URLs []string `yaml:"urls"`
}

// SuperServiceConfig is the bootstrap service created on first start (OWT's superService).
type SuperServiceConfig struct {
	// ID is 24 hex characters (CONCLAVE_SUPER_SERVICE_ID).
	ID string `yaml:"id"`
	// Key is the service's MAuth key (CONCLAVE_SUPER_SERVICE_KEY).
	Key string `yaml:"key"`
}

// LogConfig configures logging.
type LogConfig struct {
	// Level is debug, info, warn or error (CONCLAVE_LOG_LEVEL).
	Level string `yaml:"level"`
	// Format is text or json (CONCLAVE_LOG_FORMAT).
	Format string `yaml:"format"`
}

// ClusterConfig configures membership and scheduling.
type ClusterConfig struct {
	// Strategies maps a worker purpose to its scheduling strategy; purposes not listed use
	// round-robin.
	Strategies map[string]string `yaml:"strategies"`
	// Heartbeat is the announcement period; a worker expires after three missed beats.
	Heartbeat time.Duration `yaml:"heartbeat"`
}

// Default returns the built-in configuration: an all-in-one deployment with an in-process
// bus and the embedded store.
func Default() Config {
	return Config{
		DataDir: "./data",
		Bus:     BusConfig{Prefix: "conclave."},
		Store:   StoreConfig{MongoDatabase: "conclave"},
		Management: ManagementConfig{
			Listen:       "0.0.0.0:3000",
			BodyLimit:    1 << 20,
			CacheTTL:     5 * time.Second,
			ReplayWindow: 5 * time.Minute,
		},
		Portal: PortalConfig{Listen: "0.0.0.0:8080", ISPs: []string{}, Regions: []string{}},
		WebRTC: WebRTCConfig{
			NAT1To1IPs: []string{}, Interfaces: []string{}, ISPs: []string{}, Regions: []string{},
			Capacity:          1000,
			CongestionControl: CongestionControlConfig{Enabled: true, InitialBitrate: 1_500_000, MaxBitrate: 20_000_000},
		},
		Recording:       RecordingConfig{Capacity: 64},
		Streaming:       StreamingConfig{AllowTargets: []string{}},
		Mixing:          MixingConfig{Capacity: 8},
		Conference:      ConferenceConfig{ChatMaxMessages: 500, ChatMaxBytes: 256 << 10, CleanGrace: 30 * time.Second},
		TURN:            TURNConfig{Enabled: true, AllowPeers: []string{}, URLs: []string{}, CredentialTTL: 12 * time.Hour},
		Log:             LogConfig{Level: "info", Format: "text"},
		Cluster:         ClusterConfig{Strategies: cluster.DefaultStrategies(), Heartbeat: cluster.DefaultInterval},
		ShutdownTimeout: 20 * time.Second,
	}
}

// Distributed reports whether the configuration points at an external bus and database, so
// processes on several machines share one cluster.
func (c Config) Distributed() bool { return c.Bus.URL != "" && c.Store.MongoURI != "" }

// Redacted returns a copy safe to log: the cluster key and super service key become "***"
// and passwords in the bus and database URLs are masked.
func (c Config) Redacted() Config {
	c.Portal.ISPs = slices.Clone(c.Portal.ISPs)
	c.Portal.Regions = slices.Clone(c.Portal.Regions)
	c.WebRTC.NAT1To1IPs = slices.Clone(c.WebRTC.NAT1To1IPs)
	c.WebRTC.Interfaces = slices.Clone(c.WebRTC.Interfaces)
	c.WebRTC.ISPs = slices.Clone(c.WebRTC.ISPs)
	c.WebRTC.Regions = slices.Clone(c.WebRTC.Regions)
	c.Cluster.Strategies = maps.Clone(c.Cluster.Strategies)
	c.TURN.AllowPeers = slices.Clone(c.TURN.AllowPeers)
	c.TURN.URLs = slices.Clone(c.TURN.URLs)
	c.TURN.Secret = mask(c.TURN.Secret)
	c.ClusterKey = mask(c.ClusterKey)
	c.SuperService.Key = mask(c.SuperService.Key)
	c.Bus.URL = redactURL(c.Bus.URL)
	c.Store.MongoURI = redactURL(c.Store.MongoURI)
	return c
}

// Expiry is how long a silent worker stays known: three heartbeats (OWT check_alive_count).
func (c ClusterConfig) Expiry() time.Duration { return 3 * c.Heartbeat }

// PublicAddr returns the host:port clients reach the portal at: PublicHost, or Listen with
// an unspecified host (0.0.0.0, ::, empty) replaced by 127.0.0.1. The loopback fallback is
// safe but only reachable locally: set publicHost for any real deployment.
func (p PortalConfig) PublicAddr() string {
	if p.PublicHost != "" {
		return p.PublicHost
	}
	host, port, err := net.SplitHostPort(p.Listen)
	if err != nil {
		return p.Listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// mask hides a non-empty secret.
func mask(s string) string {
	if s == "" {
		return ""
	}
	return "***"
}

// redactURL masks the password of a URL; an unparsable URL is masked whole.
func redactURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil {
		return "***"
	}
	return u.Redacted()
}
