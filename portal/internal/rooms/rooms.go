// Package rooms finds the conference agent that owns a room and calls it (docs/realtime.md
// "Finding the room's agent"): the room's lease names the live owner; without one, a
// conference agent is scheduled and its conf.join makes the room live there. An agent that
// lost the race for the lease answers protocol.ErrNotOwner and the lookup starts again.
package rooms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/store"
)

// Leases reads room leases.
type Leases interface {
	GetLease(ctx context.Context, name string) (store.Lease, error)
}

// Scheduler picks a worker for a task.
type Scheduler interface {
	Schedule(ctx context.Context, purpose, task string, pref store.Preference) (cluster.Worker, error)
}

// Caller is the part of the bus the router needs.
type Caller interface {
	Call(ctx context.Context, target, method string, req, resp any) error
}

// Config bounds the router's work. Zero fields take the defaults of DefaultConfig.
type Config struct {
	// Timeouts per method; methods without an entry use Default.
	Timeouts map[string]time.Duration
	Default  time.Duration
	// Schedule bounds the wait for a conference agent when the room is not live.
	Schedule time.Duration
	// Attempts bounds the lease lookups of one join.
	Attempts int
	// Retry is the pause before a new lookup after the lease owner did not answer.
	Retry time.Duration
}

// DefaultConfig returns OWT-like deadlines: join 6 s, text 4 s, media operations 10 s.
func DefaultConfig() Config {
	return Config{
		Timeouts: map[string]time.Duration{
			protocol.MethodJoin:                6 * time.Second,
			protocol.MethodText:                4 * time.Second,
			protocol.MethodChatSend:            4 * time.Second,
			protocol.MethodChatEdit:            4 * time.Second,
			protocol.MethodChatDelete:          4 * time.Second,
			protocol.MethodChatReact:           4 * time.Second,
			protocol.MethodChatHistory:         4 * time.Second,
			protocol.MethodLeave:               4 * time.Second,
			protocol.MethodPublish:             10 * time.Second,
			protocol.MethodSubscribe:           10 * time.Second,
			protocol.MethodStreamControl:       6 * time.Second,
			protocol.MethodSubscriptionControl: 6 * time.Second,
			protocol.MethodSignaling:           4 * time.Second,
			protocol.MethodUnpublish:           4 * time.Second,
			protocol.MethodUnsubscribe:         4 * time.Second,
		},
		Default:  2 * time.Second,
		Schedule: 3 * time.Second,
		Attempts: 4,
		Retry:    250 * time.Millisecond,
	}
}

// Router calls rooms' conference agents.
type Router struct {
	bus    Caller
	leases Leases
	sched  Scheduler
	cfg    Config
	log    *slog.Logger
}

// ErrNoRoute: the room has no owner and none could be scheduled in time.
var ErrNoRoute = errors.New("rooms: no conference agent for the room")

// New returns a router; cfg zero fields take defaults.
func New(b Caller, leases Leases, sched Scheduler, cfg Config, log *slog.Logger) *Router {
	d := DefaultConfig()
	if cfg.Timeouts == nil {
		cfg.Timeouts = d.Timeouts
	}
	if cfg.Default <= 0 {
		cfg.Default = d.Default
	}
	if cfg.Schedule <= 0 {
		cfg.Schedule = d.Schedule
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = d.Attempts
	}
	if cfg.Retry <= 0 {
		cfg.Retry = d.Retry
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Router{bus: b, leases: leases, sched: sched, cfg: cfg, log: log}
}

// Timeout returns the deadline used for method.
func (r *Router) Timeout(method string) time.Duration {
	if d, ok := r.cfg.Timeouts[method]; ok && d > 0 {
		return d
	}
	return r.cfg.Default
}

// Call sends method to the agent with the method's deadline.
func (r *Router) Call(ctx context.Context, agent, method string, req, resp any) error {
	ctx, cancel := context.WithTimeout(ctx, r.Timeout(method))
	defer cancel()
	if err := r.bus.Call(ctx, agent, method, req, resp); err != nil {
		return fmt.Errorf("rooms: %s: %w", method, err)
	}
	return nil
}

// Join adds a participant to the room, wherever it lives, and returns the agent that
// owns the room. pref is the participant's origin, used when scheduling the room.
func (r *Router) Join(ctx context.Context, req protocol.JoinRequest, pref store.Preference) (string, protocol.JoinResult, error) {
	ctx, cancel := context.WithTimeout(ctx, r.Timeout(protocol.MethodJoin))
	defer cancel()
	var lastErr error = ErrNoRoute
	for range r.cfg.Attempts {
		agent, fromLease, err := r.owner(ctx, req.RoomID, pref)
		if err != nil {
			return "", protocol.JoinResult{}, err
		}
		var res protocol.JoinResult
		err = r.bus.Call(ctx, agent, protocol.MethodJoin, req, &res)
		if err == nil {
			return agent, res, nil
		}
		lastErr = fmt.Errorf("rooms: join on %s: %w", agent, err)
		if !retryable(err, fromLease) {
			return "", protocol.JoinResult{}, lastErr
		}
		r.log.Debug("room owner changed, looking again", "room", req.RoomID, "agent", agent, "err", err)
		if !pause(ctx, r.cfg.Retry) {
			break
		}
	}
	return "", protocol.JoinResult{}, lastErr
}

// owner returns the room's live lease owner, or a scheduled conference agent.
func (r *Router) owner(ctx context.Context, roomID string, pref store.Preference) (string, bool, error) {
	l, err := r.leases.GetLease(ctx, protocol.LeaseName(roomID))
	switch {
	case err == nil && l.Expires.After(time.Now()):
		return l.Owner, true, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return "", false, fmt.Errorf("rooms: lease of %s: %w", roomID, err)
	}
	sctx, cancel := context.WithTimeout(ctx, r.cfg.Schedule)
	defer cancel()
	w, err := r.sched.Schedule(sctx, cluster.PurposeConference, roomID, pref)
	if err != nil {
		return "", false, fmt.Errorf("%w: %w", ErrNoRoute, err)
	}
	return w.ID, false, nil
}

// retryable reports whether a failed join should look the owner up again: the agent lost
// the room, or the lease named an agent that is gone (its lease has not expired yet).
func retryable(err error, fromLease bool) bool {
	if IsNotOwner(err) {
		return true
	}
	return fromLease && errors.Is(err, bus.ErrNoEndpoint)
}

// IsNotOwner reports whether err is a conference agent's ErrNotOwner answer.
func IsNotOwner(err error) bool {
	var e *errs.Error
	return errors.As(err, &e) && e.Message == protocol.ErrNotOwner
}

// pause waits d unless ctx ends first.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Message returns the text a client should see for a failed call: the remote error's
// message, or the transport failure.
func Message(err error) string {
	if err == nil {
		return ""
	}
	if bus.IsTransport(err) {
		if errors.Is(err, bus.ErrTimeout) {
			return "Timeout to make rpc to conference agent"
		}
		return "Failed to reach conference agent"
	}
	if errors.Is(err, ErrNoRoute) {
		return "No conference agent available"
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}
