// Package bus carries RPC requests and events between Conclave processes.
//
// Two implementations share one contract (bus/bustest): RabbitMQ (package bus/amqp) for
// distributed deployments and an in-process bus (package bus/local) for the all-in-one binary.
// The local bus serialises every message to JSON exactly like the network, so code that works
// in one process works across machines.
package bus

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// DefaultTimeout is the RPC deadline used when the caller's context has none (OWT: 2000 ms).
const DefaultTimeout = 2 * time.Second

// Sentinel errors. Transport failures are reported as *errs.Error with code 1201 (failed to
// call cluster) that wrap one of these, so callers can test with errors.Is.
var (
	// ErrTimeout: no reply before the deadline.
	ErrTimeout = errors.New("bus: rpc timeout")
	// ErrNoEndpoint: nobody serves the target (fails fast instead of waiting for the deadline).
	ErrNoEndpoint = errors.New("bus: no such rpc endpoint")
	// ErrClosed: the bus was closed.
	ErrClosed = errors.New("bus: closed")
	// ErrDisconnected: the broker connection is down; the call was not sent or its reply was lost.
	ErrDisconnected = errors.New("bus: disconnected from broker")
	// ErrOverloaded: a bounded queue is full (slow consumer).
	ErrOverloaded = errors.New("bus: queue full")
)

// Request is one RPC request as a handler sees it.
type Request struct {
	Method string
	Body   json.RawMessage
}

// Decode unmarshals the request body into v.
func (r Request) Decode(v any) error { return json.Unmarshal(r.Body, v) }

// Handler serves RPC requests. Its result is JSON-encoded as the reply. A returned
// *errs.Error keeps its status, code and message across the wire; any other error arrives as
// errs.Unexpected with the error's text.
type Handler func(ctx context.Context, req Request) (any, error)

// Event is one published message as a subscriber sees it.
type Event struct {
	Topic string
	Body  json.RawMessage
}

// Decode unmarshals the event body into v.
func (e Event) Decode(v any) error { return json.Unmarshal(e.Body, v) }

// EventHandler receives events. It must not block for long: events for one subscription are
// delivered in order by one goroutine.
type EventHandler func(ctx context.Context, ev Event)

// Subscription is a registered handler; Close stops delivery and waits for a running handler
// call to return.
type Subscription interface {
	Close() error
}

// Connectivity is implemented by buses whose connection to a broker can drop (the AMQP bus).
// While a bus is disconnected its subscribers hear nothing, so silence then says nothing
// about the publishers: the cluster registry uses it not to expire workers whose beats it
// could not receive.
type Connectivity interface {
	// Connected reports whether the bus is connected now, and since when it has been
	// connected (up) or disconnected (down).
	Connected() (up bool, since time.Time)
}

// Bus is the message bus every agent uses.
type Bus interface {
	// Call sends method and req (JSON-encoded) to the RPC endpoint target and decodes the
	// reply into resp (which may be nil). The deadline comes from ctx, or DefaultTimeout.
	Call(ctx context.Context, target, method string, req, resp any) error
	// Serve registers h as the RPC endpoint named name. Several processes serving the same
	// name compete for requests (each request is handled once).
	Serve(name string, h Handler) (Subscription, error)
	// Publish sends msg to every subscriber whose pattern matches topic.
	Publish(ctx context.Context, topic string, msg any) error
	// Subscribe delivers every event whose topic matches pattern to h (fan-out). Patterns
	// are AMQP topic patterns: words separated by '.', '*' matches one word, '#' zero or more.
	Subscribe(pattern string, h EventHandler) (Subscription, error)
	// SubscribeQueue delivers events matching pattern to h through the named queue; several
	// subscribers of the same queue compete (each event is handled by one of them).
	SubscribeQueue(queue, pattern string, h EventHandler) (Subscription, error)
	// Close releases the bus; pending calls fail with ErrClosed.
	Close() error
}
