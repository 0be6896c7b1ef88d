package socketio

import (
	"fmt"
	"slices"
	"time"
)

// Config tunes a Server. Zero fields take the values of DefaultConfig, so a zero Config
// is usable.
type Config struct {
	// PingInterval is the heartbeat period advertised in the handshake. Engine.IO v4: the
	// server pings every PingInterval. Engine.IO v3: the client pings every PingInterval.
	// Long-poll GETs are also held at most this long. Default 25 s (socket.io v4 default).
	PingInterval time.Duration
	// PingTimeout is how long a heartbeat may be late before the connection is closed
	// with reason "ping timeout". v4: pong deadline after each ping; v3: the connection
	// closes after PingInterval+PingTimeout without any packet from the client.
	// Default 20 s.
	PingTimeout time.Duration
	// ConnectTimeout bounds the time an Engine.IO v4 client may take to send its
	// namespace CONNECT ("40") after the handshake (socket.io's connectTimeout).
	// Default 45 s.
	ConnectTimeout time.Duration
	// UpgradeTimeout bounds a polling→websocket upgrade (probe to "5"); on expiry the
	// probe websocket is closed and polling continues. Default 10 s.
	UpgradeTimeout time.Duration
	// MaxPendingPerAddress and MaxPending bound the sessions that have not authenticated
	// (Socket.Authenticate: for the portal, a successful login) from one remote address and
	// in total; a handshake beyond either is refused with 429 "Too many unauthenticated
	// sessions". Defaults 256 and 10,000; negative: no limit (behind a proxy that is every
	// client's address, raise it or put the limit in the proxy).
	MaxPendingPerAddress int
	MaxPending           int
	// DisconnectLinger is how long a session stays open after Socket.Disconnect for the
	// client to close its transport itself, once it has processed what was sent before
	// the DISCONNECT (socket.io clients do so at once); then it is cut. Default 5 s.
	DisconnectLinger time.Duration
	// MaxMessageBytes is the largest Engine.IO packet accepted, in bytes; a larger one
	// closes the connection (websocket: close status 1009). Default 64 KiB.
	MaxMessageBytes int
	// MaxPollingBodyBytes is the largest polling POST body; larger bodies are answered
	// with 413 and close the connection. It is advertised to v4 clients as maxPayload so
	// that they split their batches. Default 1 MB (socket.io's maxHttpBufferSize).
	MaxPollingBodyBytes int
	// MaxEventsPerSecond is the refill rate of each socket's event token bucket. Events
	// (42 packets) arriving on an empty bucket are dropped without running a handler;
	// when EventBurst events have been dropped within 10 seconds the socket is closed
	// with reason "rate limit exceeded". Negative disables the limit. Default 50.
	MaxEventsPerSecond float64
	// EventBurst is the token bucket capacity. Default 100.
	EventBurst int
	// SendQueueSize is the number of outgoing packets a socket may have queued; when a
	// send would exceed it the socket is closed instead of blocking. Default 1024.
	SendQueueSize int
	// AllowedOrigins lists the browser origins (scheme://host[:port]) accepted; "*"
	// accepts any. Requests without an Origin header (native clients) are always
	// accepted. Default ["*"].
	AllowedOrigins []string
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		PingInterval:         25 * time.Second,
		PingTimeout:          20 * time.Second,
		ConnectTimeout:       45 * time.Second,
		UpgradeTimeout:       10 * time.Second,
		DisconnectLinger:     5 * time.Second,
		MaxPendingPerAddress: 256,
		MaxPending:           10_000,
		MaxMessageBytes:      64 << 10,
		MaxPollingBodyBytes:  1_000_000,
		MaxEventsPerSecond:   50,
		EventBurst:           100,
		SendQueueSize:        1024,
		AllowedOrigins:       []string{"*"},
	}
}

// withDefaults returns c with zero fields replaced by defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setDuration(&c.PingInterval, d.PingInterval)
	setDuration(&c.PingTimeout, d.PingTimeout)
	setDuration(&c.ConnectTimeout, d.ConnectTimeout)
	setDuration(&c.UpgradeTimeout, d.UpgradeTimeout)
	setDuration(&c.DisconnectLinger, d.DisconnectLinger)
	setInt(&c.MaxMessageBytes, d.MaxMessageBytes)
	setInt(&c.MaxPollingBodyBytes, d.MaxPollingBodyBytes)
	setInt(&c.EventBurst, d.EventBurst)
	setInt(&c.SendQueueSize, d.SendQueueSize)
	setInt(&c.MaxPendingPerAddress, d.MaxPendingPerAddress)
	setInt(&c.MaxPending, d.MaxPending)
	if c.MaxEventsPerSecond == 0 {
		c.MaxEventsPerSecond = d.MaxEventsPerSecond
	}
	if len(c.AllowedOrigins) == 0 {
		c.AllowedOrigins = d.AllowedOrigins
	}
	c.AllowedOrigins = slices.Clone(c.AllowedOrigins)
	return c
}

func setDuration(p *time.Duration, def time.Duration) {
	if *p == 0 {
		*p = def
	}
}

func setInt(p *int, def int) {
	if *p == 0 {
		*p = def
	}
}

// Validate reports the first invalid field, naming it. Zero values are valid (they mean
// "default").
func (c Config) Validate() error {
	checks := []struct {
		bad  bool
		name string
	}{
		{c.PingInterval < 0, "PingInterval"},
		{c.PingTimeout < 0, "PingTimeout"},
		{c.ConnectTimeout < 0, "ConnectTimeout"},
		{c.UpgradeTimeout < 0, "UpgradeTimeout"},
		{c.MaxMessageBytes < 0, "MaxMessageBytes"},
		{c.MaxPollingBodyBytes < 0, "MaxPollingBodyBytes"},
		{c.EventBurst < 0, "EventBurst"},
		{c.SendQueueSize < 0, "SendQueueSize"},
	}
	for _, ch := range checks {
		if ch.bad {
			return fmt.Errorf("%w: %s must not be negative", ErrInvalidConfig, ch.name)
		}
	}
	for _, o := range c.AllowedOrigins {
		if o == "" {
			return fmt.Errorf("%w: AllowedOrigins contains an empty entry", ErrInvalidConfig)
		}
	}
	return nil
}

// originAllowed reports whether a request Origin header value is accepted.
func (c *Config) originAllowed(origin string) bool {
	if origin == "" {
		return true
	}
	return slices.Contains(c.AllowedOrigins, "*") || slices.Contains(c.AllowedOrigins, origin)
}
