// Package agent is the recording agent: it writes room streams to mkv/mp4 files. Recording arrives with its own issue; today the agent joins the cluster so it can be scheduled.
package agent

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/cluster"
)

// Purpose is the cluster purpose this agent registers under.
const Purpose = "recording"

// Config is the agent's configuration.
type Config struct {
	Host      string // this machine's name or address, part of the worker id
	Heartbeat time.Duration
}

// Deps are the agent's collaborators.
type Deps struct {
	Bus    bus.Bus
	Logger *slog.Logger
}

// Agent is one recording agent process (or the recording part of the all-in-one binary).
type Agent struct {
	ann *cluster.Announcer
	id  string
}

// New prepares an agent; it starts nothing.
func New(cfg Config, deps Deps) (*Agent, error) {
	if deps.Bus == nil || deps.Logger == nil {
		return nil, errors.New("recording-agent: bus and logger are required")
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = time.Second
	}
	w := cluster.Worker{
		ID:      cluster.NewWorkerID(Purpose, cfg.Host),
		Purpose: Purpose,
		MaxLoad: 0.85,
		Started: time.Now(),
	}
	return &Agent{ann: cluster.NewAnnouncer(deps.Bus, w, cfg.Heartbeat, func() float64 { return 0 }, deps.Logger), id: w.ID}, nil
}

// ID returns the agent's cluster worker id.
func (a *Agent) ID() string { return a.id }

// Run announces the agent in the cluster until ctx ends.
func (a *Agent) Run(ctx context.Context) error { return a.ann.Run(ctx) }
