package agent

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	model "github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/conference-agent/internal/notify"
	"github.com/conclave-rtc/conclave/conference-agent/internal/room"
)

// msgJoinFailed is OWT's answer when a room cannot be initialised.
const msgJoinFailed = "Joining room failed"

// releaseTimeout bounds the lease release when a room ends.
const releaseTimeout = time.Second

// entry is a room this agent owns, is loading, or is letting go.
type entry struct {
	id    string
	room  *room.Room    // set once ready is closed without err
	queue *notify.Queue // the room's client events
	err   error         // load failure
	ready chan struct{} // closed when loading finished
	done  chan struct{} // closed once the entry is forgotten and its lease released

	stopOnce sync.Once
	stop     chan struct{} // closed to end the room now (room.destroy)
	closing  bool          // guarded by Agent.mu
}

// errNotOwner is the answer for a room this agent does not own.
func errNotOwner() *errs.Error { return errs.Cluster(protocol.ErrNotOwner) }

// live returns the room if this agent owns it.
func (a *Agent) live(roomID string) (*room.Room, error) {
	a.mu.Lock()
	e := a.rooms[roomID]
	a.mu.Unlock()
	if e == nil {
		return nil, errNotOwner()
	}
	select {
	case <-e.ready:
	default:
		return nil, errNotOwner()
	}
	if e.err != nil || e.room.Closed() {
		return nil, errNotOwner()
	}
	return e.room, nil
}

// acquire returns the room, making it live here first: it loads the room's configuration and
// takes its lease. A room held by another live agent is the not-owner error.
func (a *Agent) acquire(ctx context.Context, roomID string) (*room.Room, error) {
	for {
		a.mu.Lock()
		if a.stopping {
			a.mu.Unlock()
			return nil, errNotOwner()
		}
		e := a.rooms[roomID]
		if e == nil {
			e = &entry{id: roomID, ready: make(chan struct{}), done: make(chan struct{}), stop: make(chan struct{})}
			a.rooms[roomID] = e
			a.wg.Add(2) // the keeper and the notice queue, or released by a failed load
			a.mu.Unlock()
			return a.loadEntry(ctx, e)
		}
		closing := e.closing
		a.mu.Unlock()
		wait := e.ready
		if closing {
			wait = e.done
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, errs.Cluster(msgJoinFailed)
		}
		if closing {
			continue
		}
		if e.err != nil {
			return nil, e.err
		}
		return e.room, nil
	}
}

// loadEntry loads e's room and starts its goroutines, or forgets e on failure.
func (a *Agent) loadEntry(ctx context.Context, e *entry) (*room.Room, error) {
	r, q, err := a.open(ctx, e)
	if err != nil {
		e.err = err
		a.mu.Lock()
		delete(a.rooms, e.id)
		a.mu.Unlock()
		close(e.ready)
		close(e.done)
		a.wg.Add(-2)
		return nil, err
	}
	e.room, e.queue = r, q
	close(e.ready)
	a.mu.Lock()
	base := a.base
	a.mu.Unlock()
	go func() { defer a.wg.Done(); q.Run(base) }()
	go func() { defer a.wg.Done(); a.keep(base, e) }()
	a.log.Info("room is live", "room", e.id)
	return r, nil
}

// open reads the room's configuration and takes its lease.
func (a *Agent) open(ctx context.Context, e *entry) (*room.Room, *notify.Queue, error) {
	if a.deps.Store == nil {
		return nil, nil, errs.Cluster(msgJoinFailed)
	}
	stored, err := a.deps.Store.GetRoomByID(ctx, e.id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, errs.RoomNotFound()
	}
	if err != nil {
		a.log.Warn("loading room failed", "room", e.id, "err", err)
		return nil, nil, errs.Cluster(msgJoinFailed)
	}
	cfg, err := model.Parse(stored.Config)
	if err != nil {
		a.log.Warn("room configuration unreadable", "room", e.id, "err", err)
		return nil, nil, errs.Cluster(msgJoinFailed)
	}
	cfg.ID = e.id
	if _, err := a.deps.Store.AcquireLease(ctx, protocol.LeaseName(e.id), a.id, a.cfg.LeaseTTL); err != nil {
		if errors.Is(err, store.ErrLeaseHeld) {
			return nil, nil, errNotOwner()
		}
		a.log.Warn("room lease not acquired", "room", e.id, "err", err)
		return nil, nil, errs.Cluster(msgJoinFailed)
	}
	q := notify.New(a.deps.Bus, e.id, a.cfg.NoticeQueue, a.log)
	r := room.New(e.id, cfg, room.Deps{
		Controller: a.id, RTC: a.rtc, Sessions: a.sessions, Notify: q, Index: transportIndex{a: a, e: e}, Log: a.log,
		Scheduler: boundedScheduler{inner: a.deps.Scheduler, timeout: a.cfg.ScheduleTimeout},
		Mixing:    a.mixing, HasWorker: a.hasWorker(),
		Chat: a.deps.Store, ChatLimits: room.ChatLimits{MaxMessages: a.cfg.ChatMaxMessages, MaxBytes: a.cfg.ChatMaxBytes},
	})
	if err := r.LoadChat(ctx); err != nil {
		a.log.Warn("loading chat history failed", "room", e.id, "err", err)
		r.DropAll() // nobody joined yet: this only ends the room's background context
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		_ = a.deps.Store.ReleaseLease(rctx, protocol.LeaseName(e.id), a.id)
		return nil, nil, errs.Cluster(msgJoinFailed)
	}
	return r, q, nil
}

// keep renews the room's lease, fails transports of vanished webrtc agents and ends the room
// when it has been idle for the clean grace, its lease is lost, it is destroyed or the agent
// stops.
func (a *Agent) keep(ctx context.Context, e *entry) {
	renew := time.NewTicker(a.cfg.LeaseRenew)
	defer renew.Stop()
	check := time.NewTicker(a.cfg.CheckInterval)
	defer check.Stop()
	lastRenewed := time.Now()
	var retrying atomic.Bool
	for {
		select {
		case <-ctx.Done():
			a.finish(e, "agent stopping")
			return
		case <-e.stop:
			a.finish(e, "destroyed")
			return
		case <-renew.C:
			if !a.renew(ctx, e, &lastRenewed) {
				a.finish(e, "lease lost")
				return
			}
		case <-check.C:
			if a.deps.Alive != nil {
				e.room.FailAgents(a.deps.Alive)
			}
			if !retrying.Load() { // views waiting for a mixing agent that registered since
				retrying.Store(true)
				go func() {
					defer retrying.Store(false)
					e.room.RetryMixes(ctx)
				}()
			}
			e.room.ExpireSessions(a.cfg.FailedSessionTTL)
			if e.room.CleanDue(a.cfg.CleanGrace) && e.room.CloseIfIdle() {
				a.finish(e, "idle")
				return
			}
		}
	}
}

// renew extends the lease; it reports false once the lease is lost: taken by another agent,
// or not renewed for a whole TTL (the store is down and another agent may own it by now).
func (a *Agent) renew(ctx context.Context, e *entry, last *time.Time) bool {
	rctx, cancel := context.WithTimeout(ctx, a.cfg.LeaseTTL)
	defer cancel()
	_, err := a.deps.Store.AcquireLease(rctx, protocol.LeaseName(e.id), a.id, a.cfg.LeaseTTL)
	switch {
	case err == nil:
		*last = time.Now()
		return true
	case errors.Is(err, store.ErrLeaseHeld):
		a.log.Warn("room lease taken by another agent", "room", e.id, "err", err)
		return false
	}
	a.log.Warn("room lease renewal failed", "room", e.id, "err", err)
	return time.Since(*last) < a.cfg.LeaseTTL
}

// finish ends a room: its participants are dropped (if any are left), its lease released and
// the entry forgotten.
func (a *Agent) finish(e *entry, why string) {
	a.mu.Lock()
	e.closing = true
	a.mu.Unlock()
	e.room.DropAll()
	e.queue.Close()
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	if err := a.deps.Store.ReleaseLease(ctx, protocol.LeaseName(e.id), a.id); err != nil {
		a.log.Warn("room lease release failed", "room", e.id, "err", err)
	}
	cancel()
	a.mu.Lock()
	delete(a.rooms, e.id)
	a.mu.Unlock()
	close(e.done)
	a.log.Info("room ended", "room", e.id, "reason", why)
}

// destroy ends a room now (management room.destroy): everyone is dropped before the answer.
func (a *Agent) destroy(roomID string) {
	a.mu.Lock()
	e := a.rooms[roomID]
	a.mu.Unlock()
	if e == nil {
		return
	}
	<-e.ready
	if e.err != nil {
		return
	}
	e.room.DropAll()
	e.stopOnce.Do(func() { close(e.stop) })
}

// transportIndex records which room a transport belongs to, for RTCEvent routing.
type transportIndex struct {
	a *Agent
	e *entry
}

func (x transportIndex) Bind(id string) bool {
	x.a.idxMu.Lock()
	defer x.a.idxMu.Unlock()
	if e, ok := x.a.index[id]; ok && e != x.e {
		return false
	}
	x.a.index[id] = x.e
	return true
}

func (x transportIndex) Unbind(id string) {
	x.a.idxMu.Lock()
	defer x.a.idxMu.Unlock()
	if x.a.index[id] == x.e {
		delete(x.a.index, id)
	}
}

// routeEvent hands an RTCEvent to the room owning its transport.
func (a *Agent) routeEvent(ev protocol.RTCEvent) {
	a.idxMu.Lock()
	e := a.index[ev.TransportID]
	a.idxMu.Unlock()
	if e == nil || !e.room.HandleRTC(ev) {
		a.log.Debug("rtc event for an unknown transport", "transport", ev.TransportID, "type", ev.Type)
	}
}
