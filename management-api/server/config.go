package server

import (
	"fmt"
	"github.com/conclave-rtc/conclave/common/iceconfig"
	"net/http"
	"time"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
)

// Config configures the management API server.
type Config struct {
	// Listen is the TCP address to serve on (OWT's management API uses port 3000).
	Listen string
	// BodyLimit is the largest accepted request body in bytes; larger ones get 413/1301.
	BodyLimit int64
	// ReplayWindow is MAuth replay protection: a request's timestamp must be within
	// ±ReplayWindow of the server's clock and its (service, timestamp, cnonce) is accepted
	// once, by every instance sharing the store. 0 turns it off, as OWT 5.1 ships it (a
	// captured Authorization header then works forever).
	ReplayWindow time.Duration
	// CacheTTL is how long service keys and rooms are cached (0 disables the caches). With
	// several management API instances, a change made through one is seen by the others
	// after at most this long.
	CacheTTL time.Duration
	// SuperServiceID is the 24-hex id of the service allowed to manage services.
	SuperServiceID string
	// RateLimit is the number of signed requests per second allowed per service (0 = off).
	RateLimit float64
	// AuthFailureDelay is the upper bound of the random delay before a 401 (OWT: 1 s;
	// 0 = none).
	AuthFailureDelay time.Duration
	// TokenPreferenceDefault is the token origin used when a token request has no
	// preference (OWT: {isp: "isp", region: "region"}).
	TokenPreferenceDefault store.Preference
	// ScheduleTimeout bounds the wait for a portal or conference agent.
	ScheduleTimeout time.Duration
	// CallTimeout bounds RPCs to conference agents; AddTimeout those that start a
	// streaming-in or a server-side output (OWT waits up to 18 s / 85 s for those).
	CallTimeout, AddTimeout time.Duration
	// ShutdownTimeout bounds the graceful shutdown when Run's context ends.
	ShutdownTimeout time.Duration
	// ICEServers hands out the ICE servers of GET /v1/iceservers (nil: an empty list).
	ICEServers *iceconfig.Issuer
	// Console, when set, serves GET/HEAD /console and /console/* without authentication (the
	// operator console's static files; the page signs its own REST requests).
	Console http.Handler
}

// DefaultReplayWindow is the default clock-skew window of MAuth timestamps; within it every
// (service, timestamp, cnonce) is accepted once.
const DefaultReplayWindow = 5 * time.Minute

// DefaultConfig returns the defaults. SuperServiceID has no default.
func DefaultConfig() Config {
	return Config{
		Listen:                 "127.0.0.1:3000",
		BodyLimit:              512 << 10,
		CacheTTL:               2 * time.Second,
		ReplayWindow:           DefaultReplayWindow,
		AuthFailureDelay:       time.Second,
		TokenPreferenceDefault: store.Preference{ISP: "isp", Region: "region"},
		ScheduleTimeout:        3 * time.Second,
		CallTimeout:            5 * time.Second,
		AddTimeout:             90 * time.Second,
		ShutdownTimeout:        10 * time.Second,
	}
}

// withDefaults fills zero sizes and timeouts (but not the switches whose zero means off).
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.BodyLimit == 0 {
		c.BodyLimit = d.BodyLimit
	}
	if c.TokenPreferenceDefault == (store.Preference{}) {
		c.TokenPreferenceDefault = d.TokenPreferenceDefault
	}
	for _, p := range []struct{ v, def *time.Duration }{
		{&c.ScheduleTimeout, &d.ScheduleTimeout}, {&c.CallTimeout, &d.CallTimeout},
		{&c.AddTimeout, &d.AddTimeout}, {&c.ShutdownTimeout, &d.ShutdownTimeout},
	} {
		if *p.v == 0 {
			*p.v = *p.def
		}
	}
	return c
}

// Validate reports the first invalid setting, naming it.
func (c Config) Validate() error {
	if !ids.IsObjectID(c.SuperServiceID) {
		return fmt.Errorf("%w: superServiceId must be 24 hex characters", ErrConfig)
	}
	if c.BodyLimit <= 0 {
		return fmt.Errorf("%w: bodyLimit must be positive", ErrConfig)
	}
	if c.RateLimit < 0 {
		return fmt.Errorf("%w: rateLimit must not be negative", ErrConfig)
	}
	for name, d := range map[string]time.Duration{
		"replayWindow": c.ReplayWindow, "cacheTTL": c.CacheTTL, "authFailureDelay": c.AuthFailureDelay,
		"scheduleTimeout": c.ScheduleTimeout, "callTimeout": c.CallTimeout,
		"addTimeout": c.AddTimeout, "shutdownTimeout": c.ShutdownTimeout,
	} {
		if d < 0 {
			return fmt.Errorf("%w: %s must not be negative", ErrConfig, name)
		}
	}
	return nil
}
