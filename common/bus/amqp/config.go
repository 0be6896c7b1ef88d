package amqp

import (
	"fmt"
	"log/slog"
	"time"

	amqp091 "github.com/rabbitmq/amqp091-go"
)

// Defaults for Config fields left at their zero value.
const (
	DefaultPrefix          = "conclave."
	DefaultReconnectMin    = 100 * time.Millisecond
	DefaultReconnectMax    = 2 * time.Second
	DefaultDialTimeout     = 5 * time.Second
	DefaultMaxQueuedEvents = 10000
)

// Config configures a RabbitMQ bus.
type Config struct {
	// URL is the broker address, amqp://user:pass@host:port/vhost (never logged).
	URL string
	// Prefix starts the name of every exchange and queue, so deployments (and tests) sharing a
	// broker stay isolated. Default "conclave.".
	Prefix string
	// Logger receives connection and handler-failure reports; nil uses slog.Default().
	Logger *slog.Logger
	// ReconnectMin and ReconnectMax bound the exponential redial backoff (default 100 ms, 2 s).
	ReconnectMin, ReconnectMax time.Duration
	// PublisherConfirms makes Publish wait for the broker's ack (bounded by the context
	// deadline, or bus.DefaultTimeout).
	PublisherConfirms bool
	// DialTimeout bounds one TCP connect plus AMQP handshake (default 5 s).
	DialTimeout time.Duration
	// MaxQueuedEvents bounds every subscription queue on the broker (x-max-length). When a
	// subscriber falls that far behind, the broker drops the oldest events (drop-head).
	// Default 10000.
	MaxQueuedEvents int
}

// Default returns the configuration for a broker on the local machine.
func Default() Config {
	return Config{
		URL:               "amqp://guest:guest@127.0.0.1:5672/",
		Prefix:            DefaultPrefix,
		ReconnectMin:      DefaultReconnectMin,
		ReconnectMax:      DefaultReconnectMax,
		PublisherConfirms: true,
		DialTimeout:       DefaultDialTimeout,
		MaxQueuedEvents:   DefaultMaxQueuedEvents,
	}
}

// withDefaults fills zero-valued optional fields.
func (c Config) withDefaults() Config {
	d := Default()
	if c.ReconnectMin == 0 {
		c.ReconnectMin = d.ReconnectMin
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = max(d.ReconnectMax, c.ReconnectMin)
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = d.DialTimeout
	}
	if c.MaxQueuedEvents == 0 {
		c.MaxQueuedEvents = d.MaxQueuedEvents
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports the first invalid field, naming its key. It never echoes the URL, which
// may hold a password.
func (c Config) Validate() error {
	if c.URL == "" {
		return fmt.Errorf("%w: url is empty", ErrInvalidConfig)
	}
	if _, err := amqp091.ParseURI(c.URL); err != nil {
		return fmt.Errorf("%w: url is not an amqp:// or amqps:// URI", ErrInvalidConfig)
	}
	switch {
	case c.ReconnectMin < 0 || c.ReconnectMax < 0 || c.DialTimeout < 0:
		return fmt.Errorf("%w: reconnectMin, reconnectMax and dialTimeout must not be negative", ErrInvalidConfig)
	case c.ReconnectMax != 0 && c.ReconnectMax < c.ReconnectMin:
		return fmt.Errorf("%w: reconnectMax (%v) is below reconnectMin (%v)", ErrInvalidConfig, c.ReconnectMax, c.ReconnectMin)
	case c.MaxQueuedEvents < 0:
		return fmt.Errorf("%w: maxQueuedEvents must not be negative", ErrInvalidConfig)
	}
	return nil
}
