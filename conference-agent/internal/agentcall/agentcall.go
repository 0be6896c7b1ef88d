// Package agentcall holds what the conference agent's clients of other agents (mixing and
// session agents) share: typed RPC calls bounded by a timeout, and a queue that sends stop
// requests in the background so callers holding a room's lock never wait on the bus.
package agentcall

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// Defaults of a Stopper.
const (
	// DefaultQueue bounds the stops waiting to be sent.
	DefaultQueue = 1024
	// MaxParallelStops bounds the stops in flight at once.
	MaxParallelStops = 16
)

// Call makes one RPC bounded by timeout (or ctx's earlier deadline) and decodes its answer
// into a T. Errors keep the agent's *errs.Error in their chain.
func Call[T any](ctx context.Context, b bus.Bus, timeout time.Duration, agent, method string, req any) (T, error) {
	var res T
	err := bus.CallWithin(ctx, b, timeout, agent, method, req, &res)
	return res, err
}

// StopperConfig configures a Stopper.
type StopperConfig struct {
	// Timeout bounds each stop request (required, > 0).
	Timeout time.Duration
	// What names the sessions in log messages ("mix", "session").
	What string
	// ErrFull is logged when a stop is dropped because the queue is full.
	ErrFull error
}

// Stopper sends protocol.SessionStop requests queued by Stop from Run, up to
// MaxParallelStops at once, so one slow agent (an ffmpeg that takes seconds to exit) does not
// delay the others.
type Stopper struct {
	bus   bus.Bus
	log   *slog.Logger
	cfg   StopperConfig
	queue chan stop

	mu     sync.Mutex
	closed bool
}

// stop is one queued stop request.
type stop struct {
	agent  string
	method string
	id     string
}

// NewStopper returns a stopper on b; log may be nil.
func NewStopper(b bus.Bus, cfg StopperConfig, log *slog.Logger) *Stopper {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Stopper{bus: b, log: log, cfg: cfg, queue: make(chan stop, DefaultQueue)}
}

// Stop queues the end of session id on agent (method is the agent's stop RPC, e.g.
// mix.stop or rec.stop). An empty agent (never scheduled) is ignored. It never blocks; a full
// queue drops the request and logs it, and a stop queued after Run returned is dropped.
func (s *Stopper) Stop(agent, method, id string) {
	if agent == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	select {
	case s.queue <- stop{agent: agent, method: method, id: id}:
	default:
		s.log.Warn("dropping "+s.cfg.What+" stop", "agent", agent, "method", method, "session", id, "err", s.cfg.ErrFull)
	}
}

// Run sends queued stops until ctx ends, then sends what is left so a stopping conference
// agent still ends its sessions. Up to MaxParallelStops stops are in flight at once; Run
// returns once every stop it started has been answered or timed out.
func (s *Stopper) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	slots := make(chan struct{}, MaxParallelStops)
	send := func(st stop) {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			s.send(ctx, st)
		})
	}
	for {
		select {
		case st := <-s.queue:
			send(st)
		case <-ctx.Done():
			s.mu.Lock()
			s.closed = true
			s.mu.Unlock()
			for drained := false; !drained; {
				select {
				case st := <-s.queue:
					send(st)
				default:
					drained = true
				}
			}
			wg.Wait()
			return nil
		}
	}
}

// send makes one stop call; it outlives ctx so stops queued at shutdown still go out.
func (s *Stopper) send(ctx context.Context, st stop) {
	err := bus.CallWithin(context.WithoutCancel(ctx), s.bus, s.cfg.Timeout, st.agent, st.method, protocol.SessionStop{ID: st.id}, nil)
	if err != nil {
		s.log.Debug(s.cfg.What+" stop failed", "agent", st.agent, "method", st.method, "session", st.id, "err", err)
	}
}
