// Package local is the in-process implementation of bus.Bus used by the all-in-one binary.
//
// Several Bus values attached to one Hub behave like processes attached to one broker. Every
// request, reply and event is encoded to JSON and decoded again exactly as on the network, so
// a handler never shares memory with its caller and code that works in-process works across
// machines.
//
// Queues are bounded. A full RPC queue fails the call at once with bus.ErrOverloaded. A full
// event queue drops its oldest event to make room (drop-head), for that subscriber only: the
// publisher never blocks on a slow subscriber. Drops are logged and counted by Hub.Dropped.
// RabbitMQ subscription queues are bounded with the same policy (see package bus/amqp).
package local

import (
	"log/slog"
	"sync"
	"sync/atomic"
)

// Default queue sizes.
const (
	DefaultRequestBuffer = 1024 // queued RPC requests per endpoint name
	DefaultEventBuffer   = 1024 // queued events per subscription or named queue
)

// Config tunes a Hub. The zero value is valid and uses the defaults.
type Config struct {
	// Logger receives drop and panic reports; nil uses slog.Default().
	Logger *slog.Logger
	// RequestBuffer is the number of queued requests per endpoint name (default 1024).
	RequestBuffer int
	// EventBuffer is the number of queued events per subscription (default 1024).
	EventBuffer int
}

// Hub is the shared "broker" of in-process buses: endpoints, subscriptions and named queues.
type Hub struct {
	log      *slog.Logger
	reqBuf   int
	eventBuf int
	dropped  atomic.Uint64

	mu        sync.Mutex
	endpoints map[string]*endpoint
	fanout    map[*subscriber]struct{}
	groups    map[string]*group
}

// NewHub returns an empty hub.
func NewHub(cfg Config) *Hub {
	h := &Hub{
		log:       cfg.Logger,
		reqBuf:    cfg.RequestBuffer,
		eventBuf:  cfg.EventBuffer,
		endpoints: make(map[string]*endpoint),
		fanout:    make(map[*subscriber]struct{}),
		groups:    make(map[string]*group),
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.reqBuf <= 0 {
		h.reqBuf = DefaultRequestBuffer
	}
	if h.eventBuf <= 0 {
		h.eventBuf = DefaultEventBuffer
	}
	return h
}

// Dropped returns how many events were dropped because a subscriber's queue was full.
func (h *Hub) Dropped() uint64 { return h.dropped.Load() }
