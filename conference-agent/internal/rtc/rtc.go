// Package rtc is the conference agent's side of the conference ↔ webrtc agent protocol
// (common/protocol rtc.go): RPCs to the webrtc agents that hold the room's transports and the
// RTCEvents they report on protocol.RTCTopic(controller).
package rtc

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// Defaults.
const (
	// DefaultCallTimeout bounds an rtc.* RPC when the caller's context has no deadline.
	DefaultCallTimeout = 3 * time.Second
	// DefaultQueue bounds the fire-and-forget requests (terminations) waiting to be sent.
	DefaultQueue = 1024
)

// ErrQueueFull is logged when a termination cannot be queued.
var ErrQueueFull = errors.New("rtc: termination queue full")

// Client sends rtc.* requests to webrtc agents. Synchronous methods return the agent's error;
// Terminate is queued and sent by Run, so callers holding a room's lock never wait on the bus.
type Client struct {
	bus         bus.Bus
	log         *slog.Logger
	callTimeout time.Duration
	queue       chan terminate

	mu     sync.Mutex
	closed bool
}

// terminate is one queued rtc.terminate or rtc.destroyTransport.
type terminate struct {
	agent string
	op    protocol.RTCOperation
}

// New returns a client on b. callTimeout <= 0 means DefaultCallTimeout.
func New(b bus.Bus, callTimeout time.Duration, log *slog.Logger) *Client {
	if callTimeout <= 0 {
		callTimeout = DefaultCallTimeout
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{bus: b, log: log, callTimeout: callTimeout, queue: make(chan terminate, DefaultQueue)}
}

// Publish registers a publication on agent (rtc.publish).
func (c *Client) Publish(ctx context.Context, agent string, req protocol.RTCPublish) error {
	return c.call(ctx, agent, protocol.MethodRTCPublish, req)
}

// Subscribe registers a subscription on agent (rtc.subscribe).
func (c *Client) Subscribe(ctx context.Context, agent string, req protocol.RTCSubscribe) error {
	return c.call(ctx, agent, protocol.MethodRTCSubscribe, req)
}

// Signaling hands a client's soac message to agent (rtc.signaling).
func (c *Client) Signaling(ctx context.Context, agent string, req protocol.RTCSignaling) error {
	return c.call(ctx, agent, protocol.MethodRTCSignaling, req)
}

// Control mutes, unmutes or re-points an operation on agent (rtc.control).
func (c *Client) Control(ctx context.Context, agent string, req protocol.RTCControl) error {
	return c.call(ctx, agent, protocol.MethodRTCControl, req)
}

// Stats asks agent for the congestion-control state of transports (rtc.stats).
func (c *Client) Stats(ctx context.Context, agent string, req protocol.RTCStatsRequest) (protocol.RTCStats, error) {
	var out protocol.RTCStats
	err := bus.CallWithin(ctx, c.bus, c.callTimeout, agent, protocol.MethodRTCStats, req, &out)
	return out, err
}

// Terminate queues the end of an operation, or of the whole transport when op.OperationID is
// empty. It never blocks; a full queue drops the request (the agent's own clean-up then
// applies) and logs it.
func (c *Client) Terminate(agent string, op protocol.RTCOperation) {
	if agent == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	select {
	case c.queue <- terminate{agent: agent, op: op}:
	default:
		c.log.Warn("dropping rtc termination", "agent", agent, "transport", op.TransportID, "err", ErrQueueFull)
	}
}

// Run sends queued terminations until ctx ends, then sends what is left (bounded by the call
// timeout each) so a stopping agent still releases its transports.
func (c *Client) Run(ctx context.Context) error {
	for {
		select {
		case t := <-c.queue:
			c.sendTerminate(ctx, t)
		case <-ctx.Done():
			c.mu.Lock()
			c.closed = true
			c.mu.Unlock()
			c.drain(context.WithoutCancel(ctx))
			return nil
		}
	}
}

func (c *Client) drain(ctx context.Context) {
	for {
		select {
		case t := <-c.queue:
			c.sendTerminate(ctx, t)
		default:
			return
		}
	}
}

func (c *Client) sendTerminate(ctx context.Context, t terminate) {
	method := protocol.MethodRTCTerminate
	if t.op.OperationID == "" {
		method = protocol.MethodRTCDestroyTransport
	}
	if err := c.call(context.WithoutCancel(ctx), t.agent, method, t.op); err != nil {
		c.log.Debug("rtc termination failed", "agent", t.agent, "method", method, "transport", t.op.TransportID, "err", err)
	}
}

// call makes one RPC with the client's timeout when ctx has no earlier deadline.
func (c *Client) call(ctx context.Context, agent, method string, req any) error {
	return bus.CallWithin(ctx, c.bus, c.callTimeout, agent, method, req, nil)
}

// Listen delivers the RTCEvents reported to controller to h, in order, until the returned
// subscription is closed. Undecodable events are logged and skipped.
func Listen(b bus.Bus, controller string, log *slog.Logger, h func(protocol.RTCEvent)) (bus.Subscription, error) {
	return bus.SubscribeJSON(b, protocol.RTCTopic(controller), func(e protocol.RTCEvent) bool { return e.TransportID != "" }, log, h)
}
