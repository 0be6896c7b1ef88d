package cluster

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
)

// Registry defaults.
const (
	// DefaultExpiry: a worker is dropped after three missed 1 s beats (OWT check_alive_count 3).
	DefaultExpiry = 3 * time.Second
	// DefaultReserveTime keeps a task on its worker for this long after its last Schedule
	// (OWT schedule_reserve_time).
	DefaultReserveTime = 60 * time.Second
	// DefaultMaxReservations bounds the task reservation map.
	DefaultMaxReservations = 100_000
	// eventQueue bounds the events waiting for the registry goroutine.
	eventQueue = 256
)

// RegistryConfig configures a Registry. Zero fields take their defaults.
type RegistryConfig struct {
	// Strategies maps a purpose to a strategy name, over DefaultStrategies. An unknown
	// name means randomly-pick, as in OWT.
	Strategies map[string]string
	// Expiry is how long a worker stays known without a beat (default 3 s).
	Expiry time.Duration
	// ReserveTime is how long a task stays on its worker after its last Schedule (60 s).
	ReserveTime time.Duration
	// MaxReservations bounds the number of task reservations kept (100 000); beyond it the
	// reservation closest to expiry is dropped.
	MaxReservations int
}

// Registry is a live view of the cluster's workers built from their beats, and the scheduler
// that places tasks on them. Its methods are safe for concurrent use; one goroutine (Run)
// applies the bus events.
type Registry struct {
	bus    bus.Bus
	cfg    RegistryConfig
	log    *slog.Logger
	now    func() time.Time
	events chan bus.Event
	ready  chan struct{}
	ran    atomic.Bool

	mu         sync.Mutex
	workers    map[string]*entry
	seq        uint64
	strategies map[string]strategy
	reserved   map[string]reservation
	changed    chan struct{} // closed and replaced whenever a beat arrives
}

// entry is a known worker.
type entry struct {
	w    Worker
	seen time.Time // last beat
	seq  uint64    // join order, which strategies see as candidate order
}

// reservation keeps a task on a worker until it expires.
type reservation struct {
	worker string
	until  time.Time
}

// NewRegistry returns a registry that will listen on b once Run is called.
func NewRegistry(b bus.Bus, cfg RegistryConfig, log *slog.Logger) (*Registry, error) {
	if b == nil {
		return nil, fmt.Errorf("cluster: registry needs a bus")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = withDefaults(cfg)
	for purpose, name := range cfg.Strategies {
		if !IsStrategy(name) {
			log.Warn("unknown scheduling strategy, using randomly-pick", "purpose", purpose, "strategy", name)
		}
	}
	return &Registry{
		bus: b, cfg: cfg, log: log, now: time.Now,
		events:     make(chan bus.Event, eventQueue),
		ready:      make(chan struct{}),
		workers:    map[string]*entry{},
		strategies: map[string]strategy{},
		reserved:   map[string]reservation{},
		changed:    make(chan struct{}),
	}, nil
}

// withDefaults fills the zero fields of cfg.
func withDefaults(cfg RegistryConfig) RegistryConfig {
	strategies := DefaultStrategies()
	for purpose, name := range cfg.Strategies {
		strategies[purpose] = name
	}
	cfg.Strategies = strategies
	cfg.Expiry = cmp.Or(max(cfg.Expiry, 0), DefaultExpiry)
	cfg.ReserveTime = cmp.Or(max(cfg.ReserveTime, 0), DefaultReserveTime)
	cfg.MaxReservations = cmp.Or(max(cfg.MaxReservations, 0), DefaultMaxReservations)
	return cfg
}

// Ready is closed once Run has subscribed to the bus.
func (r *Registry) Ready() <-chan struct{} { return r.ready }

// Run subscribes to the cluster topics and applies beats and leaves until ctx ends. It may
// be called once.
func (r *Registry) Run(ctx context.Context) error {
	if !r.ran.CompareAndSwap(false, true) {
		return fmt.Errorf("cluster: registry already running")
	}
	sub, err := r.bus.Subscribe(topicAll, func(_ context.Context, ev bus.Event) {
		select {
		case r.events <- ev:
		case <-ctx.Done():
		}
	})
	if err != nil {
		return fmt.Errorf("cluster: subscribe %s: %w", topicAll, err)
	}
	defer func() { _ = sub.Close() }()
	close(r.ready)
	sweep := time.NewTicker(max(r.cfg.Expiry/3, 10*time.Millisecond))
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-r.events:
			r.handle(ev)
		case <-sweep.C:
			r.sweep()
		}
	}
}

// handle applies one beat or leave event.
func (r *Registry) handle(ev bus.Event) {
	leave, purpose, ok := parseTopic(ev.Topic)
	if !ok {
		return
	}
	var w Worker
	if err := ev.Decode(&w); err != nil || w.validate() != nil || w.Purpose != purpose {
		r.log.Debug("ignoring malformed cluster event", "topic", ev.Topic, "error", err)
		return
	}
	if leave {
		r.remove(w.ID, "left")
		return
	}
	r.beat(w)
}

// beat records a worker's announcement and wakes waiting Schedule calls.
func (r *Registry) beat(w Worker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	e, known := r.workers[w.ID]
	if !known || !r.live(e, now) {
		r.seq++
		e = &entry{seq: r.seq}
		r.workers[w.ID] = e
		r.log.Info("worker joined", "worker", w.ID, "purpose", w.Purpose, "host", w.Host)
	}
	e.w, e.seen = w, now
	close(r.changed)
	r.changed = make(chan struct{})
}

// remove forgets a worker.
func (r *Registry) remove(id, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.workers[id]; ok {
		delete(r.workers, id)
		r.log.Info("worker "+why, "worker", id)
	}
}

// Forget drops the worker id at once, before its beats expire: a caller found it unreachable
// (its RPC endpoint is gone, bus.ErrNoEndpoint, as after a kill -9), so nothing more should
// be scheduled on it. A worker that is in fact alive comes back with its next beat.
func (r *Registry) Forget(id string) { r.remove(id, "unreachable") }

// sweep forgets expired workers and reservations.
func (r *Registry) sweep() {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	for id, e := range r.workers {
		if !r.live(e, now) {
			delete(r.workers, id)
			r.log.Warn("worker expired", "worker", id, "lastBeat", e.seen)
		}
	}
	r.pruneReservations(now)
}

// live reports whether e has beaten within the expiry. Beats the registry could not hear do
// not count against a worker: while the bus is disconnected every known worker stays live,
// and after a reconnection each one has an extra expiry to beat again, since the workers
// reconnect to the broker at slightly different times.
func (r *Registry) live(e *entry, now time.Time) bool {
	if e == nil {
		return false
	}
	seen := e.seen
	if c, ok := r.bus.(bus.Connectivity); ok {
		up, since := c.Connected()
		if !up {
			return true
		}
		if grace := since.Add(r.cfg.Expiry); grace.After(seen) && since.After(e.seen) {
			seen = grace
		}
	}
	return now.Sub(seen) <= r.cfg.Expiry
}

// Workers returns the live workers of purpose ("" = all), sorted by id.
func (r *Registry) Workers(purpose string) []Worker {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	var out []Worker
	for _, e := range r.workers {
		if r.live(e, now) && (purpose == "" || e.w.Purpose == purpose) {
			out = append(out, e.w.clone())
		}
	}
	slices.SortFunc(out, func(a, b Worker) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Alive reports whether the worker id is live.
func (r *Registry) Alive(id string) bool {
	_, ok := r.Lookup(id)
	return ok
}

// Lookup returns the live worker id.
func (r *Registry) Lookup(id string) (Worker, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.workers[id]
	if !r.live(e, r.now()) {
		return Worker{}, false
	}
	return e.w.clone(), true
}
