package cluster

import (
	"context"
	"log/slog"
	"math"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
)

// DefaultInterval is the beat period (OWT keepAlive/report_load: about 1 s).
const DefaultInterval = time.Second

// leaveTimeout bounds the leave publication after the announcer's context ended.
const leaveTimeout = 2 * time.Second

// Announcer publishes an agent's Worker record with its current load every interval.
type Announcer struct {
	bus      bus.Bus
	w        Worker
	interval time.Duration
	load     func() float64
	log      *slog.Logger
}

// NewAnnouncer returns an announcer of w. interval <= 0 means DefaultInterval; load (may be
// nil: w.Load is announced) is called before every beat; a zero w.MaxLoad becomes
// DefaultMaxLoad and a zero w.Started the current time.
func NewAnnouncer(b bus.Bus, w Worker, interval time.Duration, load func() float64, log *slog.Logger) *Announcer {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if w.MaxLoad == 0 {
		w.MaxLoad = DefaultMaxLoad
	}
	if w.Started.IsZero() {
		w.Started = time.Now()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Announcer{bus: b, w: w.clone(), interval: interval, load: load, log: log}
}

// Worker returns the announced record (without the current load).
func (a *Announcer) Worker() Worker { return a.w.clone() }

// Run beats until ctx ends, then publishes a leave event. It returns ErrInvalidWorker if
// the record lacks an id or purpose; publication failures are logged, not returned, so a bus
// outage does not stop the agent.
func (a *Announcer) Run(ctx context.Context) error {
	if err := a.w.validate(); err != nil {
		return err
	}
	tick := time.NewTicker(a.interval)
	defer tick.Stop()
	failing := false
	for {
		failing = a.publish(ctx, BeatTopic(a.w.Purpose), a.current(), failing)
		select {
		case <-ctx.Done():
			leaveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaveTimeout)
			defer cancel()
			a.publish(leaveCtx, LeaveTopic(a.w.Purpose), a.w, false)
			return nil
		case <-tick.C:
		}
	}
}

// current returns the record with the current load.
func (a *Announcer) current() Worker {
	w := a.w
	if a.load != nil {
		w.Load = a.load()
	}
	w.Load = sanitizeLoad(w.Load)
	return w
}

// publish sends w on topic and reports whether it failed; a failure is logged only when the
// previous publication succeeded, so an outage logs once rather than every second.
func (a *Announcer) publish(ctx context.Context, topic string, w Worker, failing bool) bool {
	err := a.bus.Publish(ctx, topic, w)
	switch {
	case err != nil && !failing && ctx.Err() == nil:
		a.log.Warn("cluster announcement failed", "topic", topic, "error", err)
	case err == nil && failing:
		a.log.Info("cluster announcements resumed", "topic", topic)
	}
	return err != nil
}

// sanitizeLoad keeps the load encodable and meaningful: NaN counts as full, negatives as 0.
func sanitizeLoad(l float64) float64 {
	switch {
	case math.IsNaN(l) || math.IsInf(l, 1):
		return 1
	case l < 0:
		return 0
	default:
		return l
	}
}
