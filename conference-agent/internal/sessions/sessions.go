// Package sessions is the conference agent's side of the server-side session protocol
// (common/protocol sessions.go): rec.*, out.* and in.* RPCs to recording and streaming agents
// and the SessionEvents they report on protocol.SessionTopic(controller).
package sessions

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
	// DefaultStartTimeout bounds rec.start/out.start (OWT polls 18 s for a ready session).
	DefaultStartTimeout = 20 * time.Second
	// DefaultInTimeout bounds in.start (OWT waits about 85 s for a streaming-in).
	DefaultInTimeout = 90 * time.Second
	// DefaultCallTimeout bounds rec.update/out.update and each queued stop.
	DefaultCallTimeout = 5 * time.Second
)

// ErrQueueFull is logged when a stop cannot be queued.
var ErrQueueFull = errors.New("sessions: stop queue full")

// Timeouts are the client's RPC bounds; zero values take the defaults.
type Timeouts struct {
	Start time.Duration // rec.start, out.start
	In    time.Duration // in.start
	Call  time.Duration // updates and stops
}

func (t Timeouts) withDefaults() Timeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Start, DefaultStartTimeout)
	def(&t.In, DefaultInTimeout)
	def(&t.Call, DefaultCallTimeout)
	return t
}

// Client sends session RPCs. Stop is queued and sent by Run, so callers holding a room's lock
// never wait on the bus.
type Client struct {
	*agentcall.Stopper
	bus      bus.Bus
	timeouts Timeouts
}

// New returns a client on b.
func New(b bus.Bus, timeouts Timeouts, log *slog.Logger) *Client {
	timeouts = timeouts.withDefaults()
	stopper := agentcall.NewStopper(b, agentcall.StopperConfig{Timeout: timeouts.Call, What: "session", ErrFull: ErrQueueFull}, log)
	return &Client{Stopper: stopper, bus: b, timeouts: timeouts}
}

// RecStart starts a recording on agent and returns where the file is written.
func (c *Client) RecStart(ctx context.Context, agent string, req protocol.RecStart) (protocol.SessionStarted, error) {
	return agentcall.Call[protocol.SessionStarted](ctx, c.bus, c.timeouts.Start, agent, protocol.MethodRecStart, req)
}

// OutStart starts a streaming-out on agent.
func (c *Client) OutStart(ctx context.Context, agent string, req protocol.OutStart) (protocol.SessionStarted, error) {
	return agentcall.Call[protocol.SessionStarted](ctx, c.bus, c.timeouts.Start, agent, protocol.MethodOutStart, req)
}

// InStart starts a streaming-in on agent and returns its tracks.
func (c *Client) InStart(ctx context.Context, agent string, req protocol.InStart) (protocol.InStarted, error) {
	return agentcall.Call[protocol.InStarted](ctx, c.bus, c.timeouts.In, agent, protocol.MethodInStart, req)
}

// Update re-points a running session (method rec.update or out.update).
func (c *Client) Update(ctx context.Context, agent, method string, req protocol.SessionUpdate) error {
	return bus.CallWithin(ctx, c.bus, c.timeouts.Call, agent, method, req, nil)
}

// StopWait ends session id on agent and waits for the answer (a recording is then
// finalised), bounded by the start timeout.
func (c *Client) StopWait(ctx context.Context, agent, method, id string) error {
	if agent == "" {
		return nil
	}
	return bus.CallWithin(ctx, c.bus, c.timeouts.Start, agent, method, protocol.SessionStop{ID: id}, nil)
}

// Listen delivers the SessionEvents reported to controller to h, in order, until the
// returned subscription is closed. Undecodable events are logged and skipped.
func Listen(b bus.Bus, controller string, log *slog.Logger, h func(protocol.SessionEvent)) (bus.Subscription, error) {
	return bus.SubscribeJSON(b, protocol.SessionTopic(controller), func(e protocol.SessionEvent) bool { return e.ID != "" }, log, h)
}
