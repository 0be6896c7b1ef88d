package cluster

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// Schedule picks an available worker of purpose for task using the purpose's strategy after
// ISP/region matching (OWT matcher). A task already scheduled on a still-live available
// worker gets the same worker again (task "" is never sticky). If no worker qualifies yet it
// waits for one until ctx ends (callers pass a short deadline, e.g. 3 s), then returns
// ErrNoWorker. Workers become known only while Run is running.
func (r *Registry) Schedule(ctx context.Context, purpose, task string, pref Preference) (Worker, error) {
	for {
		r.mu.Lock()
		w, ok := r.scheduleLocked(purpose, task, pref)
		changed := r.changed
		r.mu.Unlock()
		if ok {
			return w, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return Worker{}, fmt.Errorf("%w for purpose %q", ErrNoWorker, purpose)
		}
	}
}

// Unschedule drops the reservation of task, so its next Schedule picks afresh (OWT
// unschedule).
func (r *Registry) Unschedule(purpose, task string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.reserved, reservationKey(purpose, task))
}

// scheduleLocked makes one scheduling attempt; r.mu is held.
func (r *Registry) scheduleLocked(purpose, task string, pref Preference) (Worker, bool) {
	now := r.now()
	key := reservationKey(purpose, task)
	if w, ok := r.reservedWorker(key, purpose, now); ok {
		r.reserve(key, w.ID, now)
		return w.clone(), true
	}
	candidates := matcherFor(purpose)(pref, r.available(purpose, now))
	if len(candidates) == 0 {
		return Worker{}, false
	}
	w, ok := r.strategy(purpose).pick(candidates)
	if !ok {
		return Worker{}, false
	}
	if task != "" {
		r.reserve(key, w.ID, now)
	}
	return w.clone(), true
}

// reservedWorker returns the worker task is reserved on if it is live, available and still
// of purpose.
func (r *Registry) reservedWorker(key, purpose string, now time.Time) (Worker, bool) {
	res, ok := r.reserved[key]
	if !ok || now.After(res.until) {
		return Worker{}, false
	}
	e := r.workers[res.worker]
	if !r.live(e, now) || !e.w.Available() || e.w.Purpose != purpose {
		return Worker{}, false
	}
	return e.w, true
}

// available returns the live available workers of purpose in join order.
func (r *Registry) available(purpose string, now time.Time) []Worker {
	var es []*entry
	for _, e := range r.workers {
		if e.w.Purpose == purpose && r.live(e, now) && e.w.Available() {
			es = append(es, e)
		}
	}
	slices.SortFunc(es, func(a, b *entry) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]Worker, len(es))
	for i, e := range es {
		out[i] = e.w
	}
	return out
}

// strategy returns the purpose's strategy, creating it on first use.
func (r *Registry) strategy(purpose string) strategy {
	s, ok := r.strategies[purpose]
	if !ok {
		s = newStrategy(cmp.Or(r.cfg.Strategies[purpose], DefaultStrategy))
		r.strategies[purpose] = s
	}
	return s
}

// reserve keeps key on worker for the reserve time, making room if the map is full.
func (r *Registry) reserve(key, worker string, now time.Time) {
	if _, ok := r.reserved[key]; !ok && len(r.reserved) >= r.cfg.MaxReservations {
		r.pruneReservations(now)
		if len(r.reserved) >= r.cfg.MaxReservations {
			r.evictOldestReservation()
		}
	}
	r.reserved[key] = reservation{worker: worker, until: now.Add(r.cfg.ReserveTime)}
}

// pruneReservations drops expired reservations.
func (r *Registry) pruneReservations(now time.Time) {
	for key, res := range r.reserved {
		if now.After(res.until) {
			delete(r.reserved, key)
		}
	}
}

// evictOldestReservation drops the reservation closest to expiry.
func (r *Registry) evictOldestReservation() {
	oldest, first := "", true
	for key, res := range r.reserved {
		if first || res.until.Before(r.reserved[oldest].until) {
			oldest, first = key, false
		}
	}
	delete(r.reserved, oldest)
}

// reservationKey identifies a task of a purpose; "" means the task is not sticky.
func reservationKey(purpose, task string) string {
	if task == "" {
		return ""
	}
	return purpose + "\x00" + task
}
