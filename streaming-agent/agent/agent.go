// Package agent is the streaming agent: it pushes room streams to RTMP, RTSP, HLS and DASH
// destinations (streaming-outs) and pulls external RTSP/RTMP/HTTP streams into rooms
// (streaming-ins), both through ffmpeg child processes (OWT §6.2–6.3). It serves out.* and
// in.* RPCs on its cluster worker id, exports the tracks of its streaming-ins over media
// links (rtc.export), reports session failures on protocol.SessionTopic(controller) and
// announces itself in the cluster with load = active sessions / capacity.
//
// Layering: agent (RPC, registry, events, media-link server) → internal/out (one
// streaming-out) and internal/in (one streaming-in) → internal/ffmpeg (processes, probing,
// ports) and internal/rtpx (RTP helpers); common/medialink below all.
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
	"github.com/conclave-rtc/conclave/streaming-agent/internal/egress"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/in"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/out"
)

// Purpose is the cluster purpose this agent registers under.
const Purpose = "streaming"

// DefaultCapacity is the number of sessions at which the agent reports full load.
const DefaultCapacity = 16

// Config is the agent's configuration. The zero value of every field but Host is usable.
type Config struct {
	Host      string // this machine's name or address, part of the worker id
	Heartbeat time.Duration
	// Capacity is the session count (streaming-outs + streaming-ins) reported as load 1.0;
	// further out.start and in.start calls are refused while it is reached.
	Capacity int

	FFmpeg  string // ffmpeg binary (default "ffmpeg" on PATH)
	FFprobe string // ffprobe binary (default "ffprobe")
	WorkDir string // SDP files of streaming-outs (default the system temp dir)

	// StartTimeout bounds out.start/in.start once media is there (default 15 s).
	StartTimeout time.Duration
	// NoMediaTimeout: a streaming-out source silent this long fails the start or is
	// reported while running (default 10 s).
	NoMediaTimeout time.Duration
	// ProbeTimeout bounds ffprobe of a streaming-in source and its socket I/O (default 10 s).
	ProbeTimeout time.Duration
	// StopTimeout is the delay between SIGINT and SIGKILL when stopping ffmpeg (default 5 s).
	StopTimeout time.Duration
	// RetryMin and RetryMax bound the exponential restart backoff (default 1 s and 30 s).
	RetryMin, RetryMax time.Duration
	// MaxRetries is the number of consecutive failed restarts after which a session fails
	// (default 10).
	MaxRetries int

	// MediaLinkListen is the media-link TCP listen address (default "127.0.0.1:0"; from a
	// config file: config.Config.MediaLinkAddr).
	MediaLinkListen string
	// MediaLinkAdvertise is the address other agents dial (default: the listen address, or
	// Host:port when listening on all addresses).
	MediaLinkAdvertise string
	// MediaLinkSecret keys media-link tickets; empty means a random per-process key (tickets
	// are issued and redeemed by this agent only).
	MediaLinkSecret []byte
	// AllowTargets lists the addresses and prefixes (CIDR) that streaming-in sources and
	// streaming-out destinations may have besides public unicast addresses: loopback,
	// private, link-local and similar addresses are refused unless listed (egress package).
	AllowTargets []string
}

// Deps are the agent's collaborators.
type Deps struct {
	Bus    bus.Bus
	Logger *slog.Logger
}

// Agent is one streaming agent process (or the streaming part of the all-in-one binary).
type Agent struct {
	cfg    Config
	bus    bus.Bus
	egress *egress.Policy
	log    *slog.Logger
	id     string
	ann    *cluster.Announcer
	link   *medialink.Server
	ready  chan struct{}

	mu       sync.Mutex
	outs     map[string]*out.Job
	ins      map[string]*in.Job
	stopping bool
}

// New prepares an agent; it opens no socket and starts no goroutine.
func New(cfg Config, deps Deps) (*Agent, error) {
	if deps.Bus == nil || deps.Logger == nil {
		return nil, errors.New("streaming-agent: bus and logger are required")
	}
	cfg = withDefaults(cfg)
	policy, err := egress.New(cfg.AllowTargets, nil)
	if err != nil {
		return nil, fmt.Errorf("streaming-agent: allowTargets: %w", err)
	}
	a := &Agent{cfg: cfg, bus: deps.Bus, egress: policy, ready: make(chan struct{}), outs: map[string]*out.Job{}, ins: map[string]*in.Job{}}
	w := cluster.Worker{ID: cluster.NewWorkerID(Purpose, cfg.Host), Purpose: Purpose, MaxLoad: cluster.DefaultMaxLoad,
		Started: time.Now()}
	a.id = w.ID
	a.log = deps.Logger.With("agent", a.id)
	a.ann = cluster.NewAnnouncer(deps.Bus, w, cfg.Heartbeat, a.load, a.log)
	link, err := medialink.NewAgentServer(medialink.Config{Listen: cfg.MediaLinkListen, Advertise: cfg.MediaLinkAdvertise,
		Host: cfg.Host, Secret: cfg.MediaLinkSecret, Logger: a.log}, exporter{a})
	if err != nil {
		return nil, fmt.Errorf("streaming-agent: %w", err)
	}
	a.link = link
	return a, nil
}

// withDefaults fills the zero fields the agent itself uses; job timeouts are defaulted by
// the job packages.
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

// load is active sessions / capacity.
func (a *Agent) load() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return float64(len(a.outs)+len(a.ins)) / float64(a.cfg.Capacity)
}

// Run opens the media-link listener, serves RPCs and announces the agent until ctx ends;
// then it stops every session (ffmpeg finishes its output or is killed after StopTimeout)
// and returns after all goroutines ended.
func (a *Agent) Run(ctx context.Context) error {
	if _, err := a.link.Listen(); err != nil {
		return fmt.Errorf("streaming-agent: %w", err)
	}
	err := cluster.Service{Bus: a.bus, ID: a.id, Handler: a.handle, Loops: []func(context.Context) error{a.ann.Run, a.link.Serve},
		Started: func() {
			close(a.ready)
			a.log.Info("streaming agent running", "medialink", a.link.Addr())
		},
		Drain: a.shutdown}.Run(ctx)
	if err != nil {
		return fmt.Errorf("streaming-agent: %w", err)
	}
	return nil
}

// shutdown refuses new sessions and stops every running one, in parallel.
func (a *Agent) shutdown() {
	a.mu.Lock()
	a.stopping = true
	var stops []func()
	for _, j := range a.outs {
		stops = append(stops, j.Stop)
	}
	for _, j := range a.ins {
		stops = append(stops, j.Stop)
	}
	a.mu.Unlock()
	var wg sync.WaitGroup
	for _, stop := range stops {
		wg.Add(1)
		go func() { defer wg.Done(); stop() }()
	}
	wg.Wait()
}

// PIDs returns the process ids of the ffmpeg children running now (for tests and
// diagnostics).
func (a *Agent) PIDs() []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	var pids []int
	for _, j := range a.outs {
		if p := j.PID(); p != 0 {
			pids = append(pids, p)
		}
	}
	for _, j := range a.ins {
		if p := j.PID(); p != 0 {
			pids = append(pids, p)
		}
	}
	return pids
}
