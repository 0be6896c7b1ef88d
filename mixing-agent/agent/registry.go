package agent

import (
	"context"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/mixing-agent/codec"
	"github.com/conclave-rtc/conclave/mixing-agent/internal/pipeline"
)

// admit checks that a new (idle) session id is free and that the agent holds fewer than
// IdlePerCapacity sessions per unit of capacity.
func (a *Agent) admit(id string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.admitLocked(id)
}

func (a *Agent) admitLocked(id string) error {
	if a.stopping {
		return errUnavailable("mixing agent is stopping")
	}
	if id == "" {
		return errs.BadRequest("session id is required")
	}
	if a.sessions[id] != nil {
		return errs.BadRequestf("Session %s already exists", id)
	}
	if len(a.sessions) >= IdlePerCapacity*a.cfg.Capacity {
		return errCapacity(a.cfg.Capacity)
	}
	return nil
}

// busyLocked is the weight of the sessions that have consumers.
func (a *Agent) busyLocked() float64 {
	var sum float64
	for _, s := range a.sessions {
		if s.consuming() {
			sum += s.weight()
		}
	}
	return sum
}

// activate counts a consumer of s on its demand d. The first consumer starts the session's
// pipeline, which is admitted only while the busy sessions leave room for its weight: an
// agent at capacity refuses the consumer (the importer's link fails) instead of degrading
// every running mix.
func (a *Agent) activate(s session, d *pipeline.Demand) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !d.Active() && a.busyLocked()+s.weight() > float64(a.cfg.Capacity)+1e-9 {
		a.log.Warn("consumer refused: mixing agent at capacity", "capacity", a.cfg.Capacity, "busy", a.busyLocked())
		return false
	}
	return d.Attach()
}

// register adds a session and its output tracks, re-checking admission (two starts may
// have raced); on error the caller stops the session.
func (a *Agent) register(id string, s session) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.admitLocked(id); err != nil {
		return err
	}
	a.sessions[id] = s
	for _, o := range s.outputs() {
		a.tracks[o.Info().TrackID] = o
	}
	return nil
}

// remove unregisters id if it is still s; it reports whether it did.
func (a *Agent) remove(id string, s session) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if cur, ok := a.sessions[id]; !ok || cur != s {
		return false
	}
	delete(a.sessions, id)
	for _, o := range s.outputs() {
		delete(a.tracks, o.Info().TrackID)
	}
	return true
}

// lookup returns the session id.
func (a *Agent) lookup(id string) session {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessions[id]
}

// track returns the output track id.
func (a *Agent) track(id string) *pipeline.Output {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tracks[id]
}

// fail ends a session that broke on its own: it is unregistered, stopped in the background
// (fail may run on the session's own goroutines) and reported to its controller.
func (a *Agent) fail(id string, s session, reason string) {
	if !a.remove(id, s) {
		return
	}
	a.log.Warn("session failed", "mix", id, "reason", reason)
	a.bg.Add(1)
	go func() { defer a.bg.Done(); s.stop() }()
	a.emit(protocol.MixEvent{ID: id, Type: protocol.MixEventFailed, Reason: reason}, s.controllerID())
}

// Pipeline runs of the process (every agent of it), and whether a release of the Go heap
// is scheduled for when they stay at zero for idleRelease.
var (
	pipelinesRunning atomic.Int64
	releaseScheduled atomic.Bool
)

// idleRelease is how long the process runs no pipeline before the Go heap the pipelines grew
// is returned to the operating system.
const idleRelease = 5 * time.Second

// releasingMemory runs a pipeline, then hands the C memory its codecs freed back to the
// operating system. glibc keeps freed memory in the arena of the thread that freed it, and a
// pipeline's codecs allocate and free tens of MiB of frame buffers and tables from whatever
// threads their goroutines ran on: without the trim (and codec.TuneCHeap) a server's RSS rose
// by 30-40 MiB with every round of mixed views and never came back (issue 21). Once no
// pipeline has run for idleRelease, the Go heap they grew (decoded pictures: tens of MiB per
// busy view) is returned too: an idle server allocates too little to start a collection, and
// the runtime's scavenger returns memory only after one. The release runs off the pipeline's
// goroutine, so a session restarting its pipeline never waits for it.
func releasingMemory(run func(ctx context.Context)) func(ctx context.Context) {
	return func(ctx context.Context) {
		pipelinesRunning.Add(1)
		run(ctx)
		codec.TrimCHeap()
		if pipelinesRunning.Add(-1) == 0 && releaseScheduled.CompareAndSwap(false, true) {
			time.AfterFunc(idleRelease, func() {
				releaseScheduled.Store(false)
				if pipelinesRunning.Load() == 0 {
					debug.FreeOSMemory()
				}
			})
		}
	}
}
