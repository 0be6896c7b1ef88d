// Package mixing is the conference agent's side of the mixing protocol
// (common/protocol/mixing.go): mix.* and xcode.* RPCs to mixing agents and the MixEvents they
// report on protocol.MixTopic(controller).
package mixing

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
	// DefaultStartTimeout bounds mix.start and xcode.start.
	DefaultStartTimeout = 5 * time.Second
	// DefaultCallTimeout bounds mix.inputs, mix.layout, mix.region and each queued stop.
	DefaultCallTimeout = 3 * time.Second
	// DefaultQueue bounds the stops waiting to be sent.
	DefaultQueue = 1024
	// MaxParallelStops bounds the stops in flight at once.
	MaxParallelStops = 16
)

// ErrQueueFull is logged when a stop cannot be queued.
var ErrQueueFull = errors.New("mixing: stop queue full")

// Timeouts are the client's RPC bounds; zero values take the defaults.
type Timeouts struct {
	Start time.Duration // mix.start, xcode.start
	Call  time.Duration // mix.inputs, mix.layout, mix.region, stops
}

func (t Timeouts) withDefaults() Timeouts {
	if t.Start <= 0 {
		t.Start = DefaultStartTimeout
	}
	if t.Call <= 0 {
		t.Call = DefaultCallTimeout
	}
	return t
}

// Client sends mixing RPCs. Stop is queued and sent by Run, so callers holding a room's lock
// never wait on the bus.
type Client struct {
	bus      bus.Bus
	log      *slog.Logger
	timeouts Timeouts
	queue    chan stop

	mu     sync.Mutex
	closed bool
}

// stop is one queued mix.stop or xcode.stop.
type stop struct {
	agent  string
	method string
	id     string
}

// New returns a client on b.
func New(b bus.Bus, timeouts Timeouts, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{bus: b, log: log, timeouts: timeouts.withDefaults(), queue: make(chan stop, DefaultQueue)}
}

// MixStart starts mixing a view on agent and returns the mixed stream's tracks and layout.
func (c *Client) MixStart(ctx context.Context, agent string, req protocol.MixStart) (protocol.MixState, error) {
	var res protocol.MixState
	err := c.call(ctx, c.timeouts.Start, agent, protocol.MethodMixStart, req, &res)
	return res, err
}

// MixInputs replaces the inputs of a running mix.
func (c *Client) MixInputs(ctx context.Context, agent string, req protocol.MixInputs) (protocol.MixState, error) {
	var res protocol.MixState
	err := c.call(ctx, c.timeouts.Call, agent, protocol.MethodMixInputs, req, &res)
	return res, err
}

// MixLayout replaces the layout of a running mix.
func (c *Client) MixLayout(ctx context.Context, agent string, req protocol.MixLayout) (protocol.MixState, error) {
	var res protocol.MixState
	err := c.call(ctx, c.timeouts.Call, agent, protocol.MethodMixLayout, req, &res)
	return res, err
}

// MixRegion moves a stream into a region of a running mix.
func (c *Client) MixRegion(ctx context.Context, agent string, req protocol.MixRegion) (protocol.MixState, error) {
	var res protocol.MixState
	err := c.call(ctx, c.timeouts.Call, agent, protocol.MethodMixRegion, req, &res)
	return res, err
}

// XcodeStart starts a transcode on agent and returns the transcoded track.
func (c *Client) XcodeStart(ctx context.Context, agent string, req protocol.XcodeStart) (protocol.XcodeStarted, error) {
	var res protocol.XcodeStarted
	err := c.call(ctx, c.timeouts.Start, agent, protocol.MethodXcodeStart, req, &res)
	return res, err
}

// Stop queues the end of mix or transcode id on agent (method mix.stop or xcode.stop). It
// never blocks; a full queue drops the request and logs it.
func (c *Client) Stop(agent, method, id string) {
	if agent == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	select {
	case c.queue <- stop{agent: agent, method: method, id: id}:
	default:
		c.log.Warn("dropping mix stop", "agent", agent, "method", method, "session", id, "err", ErrQueueFull)
	}
}

// Run sends queued stops until ctx ends, then sends what is left so a stopping conference
// agent still ends its mixes. Up to MaxParallelStops stops are in flight at once; Run returns
// once every stop it started has been answered or timed out.
func (c *Client) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	slots := make(chan struct{}, MaxParallelStops)
	send := func(s stop) {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			c.sendStop(ctx, s)
		})
	}
	for {
		select {
		case s := <-c.queue:
			send(s)
		case <-ctx.Done():
			c.mu.Lock()
			c.closed = true
			c.mu.Unlock()
			for drained := false; !drained; {
				select {
				case s := <-c.queue:
					send(s)
				default:
					drained = true
				}
			}
			wg.Wait()
			return nil
		}
	}
}

func (c *Client) sendStop(ctx context.Context, s stop) {
	err := c.call(context.WithoutCancel(ctx), c.timeouts.Call, s.agent, s.method, protocol.SessionStop{ID: s.id}, nil)
	if err != nil {
		c.log.Debug("mix stop failed", "agent", s.agent, "method", s.method, "session", s.id, "err", err)
	}
}

// call makes one RPC bounded by timeout (or ctx's earlier deadline). Errors keep the agent's
// *errs.Error in their chain.
func (c *Client) call(ctx context.Context, timeout time.Duration, agent, method string, req, resp any) error {
	return bus.CallWithin(ctx, c.bus, timeout, agent, method, req, resp)
}

// Listen delivers the MixEvents reported to controller to h, in order, until the returned
// subscription is closed. Undecodable events are logged and skipped.
func Listen(b bus.Bus, controller string, log *slog.Logger, h func(protocol.MixEvent)) (bus.Subscription, error) {
	return bus.SubscribeJSON(b, protocol.MixTopic(controller), func(e protocol.MixEvent) bool { return e.ID != "" }, log, h)
}
