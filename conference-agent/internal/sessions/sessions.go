// Package sessions is the conference agent's side of the server-side session protocol
// (common/protocol sessions.go): rec.*, out.* and in.* RPCs to recording and streaming agents
// and the SessionEvents they report on protocol.SessionTopic(controller).
package sessions

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
	// DefaultStartTimeout bounds rec.start/out.start (OWT polls 18 s for a ready session).
	DefaultStartTimeout = 20 * time.Second
	// DefaultInTimeout bounds in.start (OWT waits about 85 s for a streaming-in).
	DefaultInTimeout = 90 * time.Second
	// DefaultCallTimeout bounds rec.update/out.update and each queued stop.
	DefaultCallTimeout = 5 * time.Second
	// DefaultQueue bounds the stops waiting to be sent.
	DefaultQueue = 1024
	// MaxParallelStops bounds the stops in flight at once.
	MaxParallelStops = 16
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
	bus      bus.Bus
	log      *slog.Logger
	timeouts Timeouts
	queue    chan stop

	mu     sync.Mutex
	closed bool
}

// stop is one queued rec.stop, out.stop or in.stop.
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

// RecStart starts a recording on agent and returns where the file is written.
func (c *Client) RecStart(ctx context.Context, agent string, req protocol.RecStart) (protocol.SessionStarted, error) {
	var res protocol.SessionStarted
	err := c.call(ctx, c.timeouts.Start, agent, protocol.MethodRecStart, req, &res)
	return res, err
}

// OutStart starts a streaming-out on agent.
func (c *Client) OutStart(ctx context.Context, agent string, req protocol.OutStart) (protocol.SessionStarted, error) {
	var res protocol.SessionStarted
	err := c.call(ctx, c.timeouts.Start, agent, protocol.MethodOutStart, req, &res)
	return res, err
}

// InStart starts a streaming-in on agent and returns its tracks.
func (c *Client) InStart(ctx context.Context, agent string, req protocol.InStart) (protocol.InStarted, error) {
	var res protocol.InStarted
	err := c.call(ctx, c.timeouts.In, agent, protocol.MethodInStart, req, &res)
	return res, err
}

// Update re-points a running session (method rec.update or out.update).
func (c *Client) Update(ctx context.Context, agent, method string, req protocol.SessionUpdate) error {
	return c.call(ctx, c.timeouts.Call, agent, method, req, nil)
}

// StopWait ends session id on agent and waits for the answer (a recording is then
// finalised), bounded by the start timeout.
func (c *Client) StopWait(ctx context.Context, agent, method, id string) error {
	if agent == "" {
		return nil
	}
	return c.call(ctx, c.timeouts.Start, agent, method, protocol.SessionStop{ID: id}, nil)
}

// Stop queues the end of session id on agent (method rec.stop, out.stop or in.stop). It
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
		c.log.Warn("dropping session stop", "agent", agent, "method", method, "session", id, "err", ErrQueueFull)
	}
}

// Run sends queued stops until ctx ends, then sends what is left so a stopping conference
// agent still ends its sessions. Up to MaxParallelStops stops are in flight at once, so one
// slow agent (an ffmpeg that takes seconds to exit) does not delay the others; Run returns
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
		c.log.Debug("session stop failed", "agent", s.agent, "method", s.method, "session", s.id, "err", err)
	}
}

// call makes one RPC bounded by timeout (or ctx's earlier deadline). Errors keep the agent's
// *errs.Error in their chain.
func (c *Client) call(ctx context.Context, timeout time.Duration, agent, method string, req, resp any) error {
	return bus.CallWithin(ctx, c.bus, timeout, agent, method, req, resp)
}

// Listen delivers the SessionEvents reported to controller to h, in order, until the
// returned subscription is closed. Undecodable events are logged and skipped.
func Listen(b bus.Bus, controller string, log *slog.Logger, h func(protocol.SessionEvent)) (bus.Subscription, error) {
	return bus.SubscribeJSON(b, protocol.SessionTopic(controller), func(e protocol.SessionEvent) bool { return e.ID != "" }, log, h)
}
