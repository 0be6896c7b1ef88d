// Package agent is the mixing agent (OWT's MCU: audio and video agents). It runs one mix
// session per room view (mix.*: the mixed stream <roomId>-<label>, OWT §6.1) and transcode
// sessions (xcode.*) for subscribers asking for another format, serves these RPCs on its
// cluster worker id, exports its output tracks over media links (rtc.export), reports layout,
// active-input and failure events on protocol.MixTopic(controller) and announces itself in the
// cluster with load = weighted sessions / capacity.
//
// A session with no consumer attached to its outputs costs almost nothing: it keeps its
// layout up to date but imports, decodes, composes and encodes only while at least one media
// link reads one of its tracks.
//
// Layering: agent (RPC, registry, events, media-link server, sessions) → internal/pipeline
// (outputs, demand, inputs, compositor and audio clocks) → codec, yuv, internal/layout,
// internal/audiomix; common/medialink and common/rtpframe below all.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/mixing-agent/codec"
	"github.com/conclave-rtc/conclave/mixing-agent/internal/pipeline"
)

// Purpose is the cluster purpose this agent registers under.
const Purpose = cluster.PurposeMixing

// DefaultCapacity is the weighted session count at which the agent is full.
const DefaultCapacity = 16

// Session weights: what one busy session (one with a consumer) counts against Capacity.
// Every room has a mix session per view whether anyone watches it or not, so idle sessions
// cost nothing but memory: they report IdleFactor of their weight as load, and the agent
// holds at most IdlePerCapacity sessions per unit of capacity. Admission of real work happens
// when a session gets its first consumer: above Capacity that consumer is refused.
const (
	WeightMix        = 1.0
	WeightVideoXcode = 0.5
	WeightAudioXcode = 0.1
	IdleFactor       = 0.1
	IdlePerCapacity  = 64
)

// Config is the agent's configuration. The zero value of every field but Host is usable.
type Config struct {
	Host      string // this machine's name or address, part of the worker id
	Heartbeat time.Duration
	// Capacity is the weighted count of busy sessions (a mix 1, a video transcode 0.5, an
	// audio transcode 0.1) the agent runs; load 1.0 is reported there. Idle sessions are
	// bounded by IdlePerCapacity×Capacity.
	Capacity int

	// MediaLinkListen is the media-link TCP listen address (default "127.0.0.1:0"; from a
	// config file: config.Config.MediaLinkAddr).
	MediaLinkListen string
	// MediaLinkAdvertise is the address other agents dial (default: the listen address, or
	// Host:port when listening on all addresses).
	MediaLinkAdvertise string
	// MediaLinkSecret keys media-link tickets; empty means a random per-process key.
	MediaLinkSecret []byte
}

// Deps are the agent's collaborators.
type Deps struct {
	Bus    bus.Bus
	Logger *slog.Logger
}

// session is what the registry needs of a mix or transcode session.
type session interface {
	weight() float64
	consuming() bool
	controllerID() string
	outputs() []*pipeline.Output
	stop()
}

// Agent is one mixing agent process (or the mixing part of the all-in-one binary).
type Agent struct {
	cfg   Config
	bus   bus.Bus
	log   *slog.Logger
	id    string
	ann   *cluster.Announcer
	link  *medialink.Server
	ready chan struct{}
	bg    sync.WaitGroup // stops of failed sessions

	mu       sync.Mutex
	sessions map[string]session
	tracks   map[string]*pipeline.Output
	stopping bool
}

// New prepares an agent; it opens no socket and starts no goroutine.
func New(cfg Config, deps Deps) (*Agent, error) {
	if deps.Bus == nil || deps.Logger == nil {
		return nil, errors.New("mixing-agent: bus and logger are required")
	}
	cfg = withDefaults(cfg)
	if !codec.TuneCHeap() {
		deps.Logger.Warn("malloc option M_MMAP_THRESHOLD refused: freed codec buffers may stay in the process")
	}
	a := &Agent{cfg: cfg, bus: deps.Bus, ready: make(chan struct{}), sessions: map[string]session{},
		tracks: map[string]*pipeline.Output{}}
	w := cluster.Worker{ID: cluster.NewWorkerID(Purpose, cfg.Host), Purpose: Purpose, MaxLoad: cluster.DefaultMaxLoad,
		Started: time.Now()}
	a.id = w.ID
	a.log = deps.Logger.With("agent", a.id)
	a.ann = cluster.NewAnnouncer(deps.Bus, w, cfg.Heartbeat, a.load, a.log)
	link, err := medialink.NewAgentServer(medialink.Config{Listen: cfg.MediaLinkListen, Advertise: cfg.MediaLinkAdvertise,
		Host: cfg.Host, Secret: cfg.MediaLinkSecret, Logger: a.log}, exporter{a})
	if err != nil {
		return nil, fmt.Errorf("mixing-agent: %w", err)
	}
	a.link = link
	return a, nil
}

func withDefaults(cfg Config) Config {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = time.Second
	}
	if cfg.Capacity <= 0 {
		cfg.Capacity = DefaultCapacity
	}
	return cfg
}

// ID returns the agent's cluster worker id.
func (a *Agent) ID() string { return a.id }

// Ready is closed once the agent serves RPCs.
func (a *Agent) Ready() <-chan struct{} { return a.ready }

// load is the weighted sessions / capacity, idle sessions counting IdleFactor of their weight.
func (a *Agent) load() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	var sum float64
	for _, s := range a.sessions {
		if s.consuming() {
			sum += s.weight()
		} else {
			sum += s.weight() * IdleFactor
		}
	}
	return sum / float64(a.cfg.Capacity)
}

// Run opens the media-link listener, serves RPCs and announces the agent until ctx ends;
// then it stops every session (reporting them failed to their controllers) and returns
// after all goroutines ended.
func (a *Agent) Run(ctx context.Context) error {
	if _, err := a.link.Listen(); err != nil {
		return fmt.Errorf("mixing-agent: %w", err)
	}
	err := cluster.Service{Bus: a.bus, ID: a.id, Handler: a.handle, Loops: []func(context.Context) error{a.ann.Run, a.link.Serve},
		Started: func() {
			close(a.ready)
			a.log.Info("mixing agent running", "medialink", a.link.Addr())
		},
		Drain: a.shutdown}.Run(ctx)
	a.bg.Wait()
	if err != nil {
		return fmt.Errorf("mixing-agent: %w", err)
	}
	return nil
}

// shutdown refuses new sessions and stops every running one in parallel, reporting each as
// failed to its controller.
func (a *Agent) shutdown() {
	a.mu.Lock()
	a.stopping = true
	all := a.sessions
	a.sessions = map[string]session{}
	a.tracks = map[string]*pipeline.Output{}
	a.mu.Unlock()
	var wg sync.WaitGroup
	for id, s := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.stop()
			a.emit(protocol.MixEvent{ID: id, Type: protocol.MixEventFailed, Reason: "mixing agent stopping"}, s.controllerID())
		}()
	}
	wg.Wait()
}
