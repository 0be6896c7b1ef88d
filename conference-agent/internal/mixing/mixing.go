// Package mixing is the conference agent's side of the mixing protocol
// (common/protocol/mixing.go): mix.* and xcode.* RPCs to mixing agents and the MixEvents they
// report on protocol.MixTopic(controller).
package mixing

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/conference-agent/internal/agentcall"
)

// Defaults.
const (
	// DefaultStartTimeout bounds mix.start and xcode.start.
	DefaultStartTimeout = 5 * time.Second
	// DefaultCallTimeout bounds mix.inputs, mix.layout, mix.region and each queued stop.
	DefaultCallTimeout = 3 * time.Second
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
	*agentcall.Stopper
	bus      bus.Bus
	timeouts Timeouts
}

// New returns a client on b.
func New(b bus.Bus, timeouts Timeouts, log *slog.Logger) *Client {
	timeouts = timeouts.withDefaults()
	stopper := agentcall.NewStopper(b, agentcall.StopperConfig{Timeout: timeouts.Call, What: "mix", ErrFull: ErrQueueFull}, log)
	return &Client{Stopper: stopper, bus: b, timeouts: timeouts}
}

// MixStart starts mixing a view on agent and returns the mixed stream's tracks and layout.
func (c *Client) MixStart(ctx context.Context, agent string, req protocol.MixStart) (protocol.MixState, error) {
	return agentcall.Call[protocol.MixState](ctx, c.bus, c.timeouts.Start, agent, protocol.MethodMixStart, req)
}

// MixInputs replaces the inputs of a running mix.
func (c *Client) MixInputs(ctx context.Context, agent string, req protocol.MixInputs) (protocol.MixState, error) {
	return agentcall.Call[protocol.MixState](ctx, c.bus, c.timeouts.Call, agent, protocol.MethodMixInputs, req)
}

// MixLayout replaces the layout of a running mix.
func (c *Client) MixLayout(ctx context.Context, agent string, req protocol.MixLayout) (protocol.MixState, error) {
	return agentcall.Call[protocol.MixState](ctx, c.bus, c.timeouts.Call, agent, protocol.MethodMixLayout, req)
}

// MixRegion moves a stream into a region of a running mix.
func (c *Client) MixRegion(ctx context.Context, agent string, req protocol.MixRegion) (protocol.MixState, error) {
	return agentcall.Call[protocol.MixState](ctx, c.bus, c.timeouts.Call, agent, protocol.MethodMixRegion, req)
}

// XcodeStart starts a transcode on agent and returns the transcoded track.
func (c *Client) XcodeStart(ctx context.Context, agent string, req protocol.XcodeStart) (protocol.XcodeStarted, error) {
	return agentcall.Call[protocol.XcodeStarted](ctx, c.bus, c.timeouts.Start, agent, protocol.MethodXcodeStart, req)
}

// Listen delivers the MixEvents reported to controller to h, in order, until the returned
// subscription is closed. Undecodable events are logged and skipped.
func Listen(b bus.Bus, controller string, log *slog.Logger, h func(protocol.MixEvent)) (bus.Subscription, error) {
	return bus.SubscribeJSON(b, protocol.MixTopic(controller), func(e protocol.MixEvent) bool { return e.ID != "" }, log, h)
}
