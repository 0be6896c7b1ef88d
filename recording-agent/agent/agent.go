// Package agent is the recording agent (OWT §6.2 recordings): it serves rec.start,
// rec.update and rec.stop at its worker id, imports the source tracks over media links and
// writes them to mkv (natively) or mp4 (through ffmpeg) files.
//
// Layering: agent (bus endpoint, registry, media import, session events) → internal/recorder
// (sinks: Matroska muxer, ffmpeg MP4) → internal/rtpframe (RTP → frames), internal/timeline
// (RTP → wall clock), internal/mkv (EBML writer).
package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// Purpose is the cluster purpose this agent registers under.
const Purpose = "recording"

// publishTimeout bounds one session event publication.
const publishTimeout = 2 * time.Second

// Deps are the agent's collaborators.
type Deps struct {
	Bus    bus.Bus
	Logger *slog.Logger
}

// Agent is one recording agent process (or the recording part of the all-in-one binary).
type Agent struct {
	cfg Config
	bus bus.Bus
	log *slog.Logger
	ann *cluster.Announcer
	id  string

	mu       sync.Mutex
	recs     map[string]*recording
	starting int  // rec.start calls between admission and registration
	closing  bool // Run is finishing: no new recordings
	bg       sync.WaitGroup
}

// New prepares an agent; it starts nothing.
func New(cfg Config, deps Deps) (*Agent, error) {
	if deps.Bus == nil || deps.Logger == nil {
		return nil, fmt.Errorf("%w: bus and logger are required", ErrConfig)
	}
	cfg.defaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	w := cluster.Worker{
		ID:      cluster.NewWorkerID(Purpose, cfg.Host),
		Purpose: Purpose,
		MaxLoad: cluster.DefaultMaxLoad,
		Started: time.Now(),
	}
	a := &Agent{cfg: cfg, bus: deps.Bus, log: deps.Logger.With("agent", w.ID), id: w.ID, recs: map[string]*recording{}}
	a.ann = cluster.NewAnnouncer(deps.Bus, w, cfg.Heartbeat, a.load, deps.Logger)
	return a, nil
}

// ID returns the agent's cluster worker id.
func (a *Agent) ID() string { return a.id }

// load is the announced load: active (and starting) recordings over capacity. A full agent
// announces 1, above any MaxLoad.
func (a *Agent) load() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := len(a.recs) + a.starting
	if n >= a.cfg.Capacity {
		return 1
	}
	return float64(n) / float64(a.cfg.Capacity) * cluster.DefaultMaxLoad
}

// Run serves the agent's endpoint and announces it until ctx ends; then it finalises every
// running recording and returns once all files are complete.
func (a *Agent) Run(ctx context.Context) error {
	if err := os.MkdirAll(a.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("recording-agent: recording dir: %w", err)
	}
	err := cluster.Service{Bus: a.bus, ID: a.id, Handler: a.handle, Loops: []func(context.Context) error{a.ann.Run},
		Started: func() { a.log.Info("recording agent running", "dir", a.cfg.Dir) },
		Drain: func() {
			a.finishAll()
			a.bg.Wait()
		}}.Run(ctx)
	if err != nil {
		return fmt.Errorf("recording-agent: %w", err)
	}
	return nil
}

// finishAll finalises every recording in parallel.
func (a *Agent) finishAll() {
	a.mu.Lock()
	a.closing = true
	recs := make([]*recording, 0, len(a.recs))
	for id, r := range a.recs {
		recs = append(recs, r)
		delete(a.recs, id)
	}
	a.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.finish(); err != nil {
				a.log.Error("recording not finalised", "recording", r.id, "error", err)
			}
			a.event(r, protocol.SessionEventStopped, "agent shutdown")
		}()
	}
	wg.Wait()
}

// fail ends a recording that broke on its own and tells its controller. It runs the
// finalisation in the agent's background group, as the caller may be one of the
// recording's own goroutines.
func (a *Agent) fail(r *recording, reason string) {
	if !a.remove(r) {
		return // already stopped or failing
	}
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		a.log.Warn("recording failed", "recording", r.id, "reason", reason)
		if err := r.finish(); err != nil {
			a.log.Error("recording not finalised", "recording", r.id, "error", err)
		}
		a.event(r, protocol.SessionEventFailed, reason)
	}()
}

// remove unregisters r; false means it was not registered (any more).
func (a *Agent) remove(r *recording) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.recs[r.id] != r {
		return false
	}
	delete(a.recs, r.id)
	return true
}

// event publishes a session event to the recording's controller.
func (a *Agent) event(r *recording, typ, reason string) {
	if r.controller == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	ev := protocol.SessionEvent{Agent: a.id, ID: r.id, Type: typ, Reason: reason}
	if err := a.bus.Publish(ctx, protocol.SessionTopic(r.controller), ev); err != nil {
		a.log.Warn("session event not published", "recording", r.id, "type", typ, "error", err)
	}
}
