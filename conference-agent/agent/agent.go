// Package agent is the conference agent: it owns live rooms (participants, publications,
// subscriptions and permissions, owt-protocol.md §4.8) and schedules their WebRTC transports.
//
// The agent serves one RPC endpoint named by its cluster worker id: the portal's conf.*
// requests and the management API's room RPCs (common/protocol). It owns a room while it
// holds the store lease protocol.LeaseName(roomID), taken on the first join and renewed every
// second; it listens to the webrtc agents' RTCEvents on protocol.RTCTopic(id) and sends client
// events to the portals (package notify). Recordings, streaming-outs and streaming-ins run
// on recording/streaming agents (package sessions), whose SessionEvents arrive on
// protocol.SessionTopic(id). Mixed streams and transcodes run on mixing agents (package
// mixing), whose MixEvents arrive on protocol.MixTopic(id). Room policy lives in
// internal/room.
package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/conference-agent/internal/mixing"
	"github.com/conclave-rtc/conclave/conference-agent/internal/room"
	"github.com/conclave-rtc/conclave/conference-agent/internal/rtc"
	"github.com/conclave-rtc/conclave/conference-agent/internal/sessions"
)

// Purpose is the cluster purpose this agent registers under.
const Purpose = "conference"

// Defaults of Config.
const (
	DefaultLeaseTTL        = 3 * time.Second
	DefaultLeaseRenew      = time.Second
	DefaultCleanGrace      = 30 * time.Second // OWT selfClean
	DefaultCheckInterval   = time.Second
	DefaultScheduleTimeout = 2 * time.Second
	DefaultRTCTimeout      = 3 * time.Second
	// DefaultFailedSessionTTL is how long a failed recording or streaming-out stays listed.
	DefaultFailedSessionTTL = 60 * time.Second
	// DefaultMaxRooms is the room count at which the agent announces full load.
	DefaultMaxRooms = 1000
)

// Config is the agent's configuration. Zero durations take their defaults.
type Config struct {
	Host      string // this machine's name or address, part of the worker id
	Heartbeat time.Duration
	// LeaseTTL is the life of the room lease (3 s); LeaseRenew its renewal period (1 s). A
	// room whose lease cannot be renewed for LeaseTTL is dropped.
	LeaseTTL   time.Duration
	LeaseRenew time.Duration
	// CleanGrace is how long an empty room lives on (OWT: 30 s).
	CleanGrace time.Duration
	// CheckInterval is the period of the self-clean and webrtc-agent liveness checks (1 s).
	CheckInterval time.Duration
	// ScheduleTimeout bounds waiting for a webrtc agent (2 s); RTCTimeout bounds rtc.* calls
	// (3 s). Both are also bounded by the request's own deadline.
	ScheduleTimeout time.Duration
	RTCTimeout      time.Duration
	// SessionStartTimeout bounds rec.start/out.start (20 s; OWT waits 18 s) and
	// StreamingInTimeout in.start (90 s; OWT waits about 85 s).
	SessionStartTimeout time.Duration
	StreamingInTimeout  time.Duration
	// MixStartTimeout bounds mix.start and xcode.start (5 s); a first join waits for the
	// mix.start of each view when a mixing agent is registered.
	MixStartTimeout time.Duration
	// FailedSessionTTL is how long a failed recording or streaming-out stays in the REST list
	// with its error (60 s).
	FailedSessionTTL time.Duration
	// NoticeQueue bounds each room's queue of client events (notify.DefaultSize).
	NoticeQueue int
	// MaxRooms is the number of live rooms announced as full load (1000).
	MaxRooms int
	// ChatMaxMessages and ChatMaxBytes bound each room's chat history (500 messages, 256 KiB
	// of content; config keys conference.chatMaxMessages and conference.chatMaxBytes).
	ChatMaxMessages int
	ChatMaxBytes    int
}

// withDefaults fills the zero fields of cfg.
func (cfg Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.LeaseTTL, DefaultLeaseTTL)
	def(&cfg.LeaseRenew, DefaultLeaseRenew)
	def(&cfg.CleanGrace, DefaultCleanGrace)
	def(&cfg.CheckInterval, DefaultCheckInterval)
	def(&cfg.ScheduleTimeout, DefaultScheduleTimeout)
	def(&cfg.RTCTimeout, DefaultRTCTimeout)
	def(&cfg.Heartbeat, cluster.DefaultInterval)
	def(&cfg.SessionStartTimeout, sessions.DefaultStartTimeout)
	def(&cfg.StreamingInTimeout, sessions.DefaultInTimeout)
	def(&cfg.FailedSessionTTL, DefaultFailedSessionTTL)
	def(&cfg.MixStartTimeout, mixing.DefaultStartTimeout)
	if cfg.MaxRooms <= 0 {
		cfg.MaxRooms = DefaultMaxRooms
	}
	return cfg
}

// Store is the part of the store the agent uses (satisfied by store.Store).
type Store interface {
	GetRoomByID(ctx context.Context, roomID string) (store.Room, error)
	AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (store.Lease, error)
	ReleaseLease(ctx context.Context, name, owner string) error
	// The chat history of live rooms is written through to the store (docs/chat.md).
	room.ChatStore
}

// Scheduler places transports on webrtc agents (satisfied by *cluster.Registry).
type Scheduler interface {
	Schedule(ctx context.Context, purpose, task string, pref store.Preference) (cluster.Worker, error)
	// Forget drops a worker found unreachable, so that it is not scheduled again.
	Forget(worker string)
}

// Deps are the agent's collaborators. Bus and Logger are required. Without Store every join
// fails (`Joining room failed`); without Scheduler no transport can be placed; without Alive
// webrtc agents are never considered gone.
type Deps struct {
	Bus       bus.Bus
	Logger    *slog.Logger
	Store     Store
	Scheduler Scheduler
	// Alive reports whether a worker is live (cluster.Registry.Alive).
	Alive func(workerID string) bool
}

// Agent is one conference agent process (or the conference part of the all-in-one binary).
type Agent struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	id       string
	ann      *cluster.Announcer
	rtc      *rtc.Client
	sessions *sessions.Client
	mixing   *mixing.Client
	handlers map[string]handler

	mu       sync.Mutex
	rooms    map[string]*entry
	stopping bool
	base     context.Context // Run's context: parent of the rooms' goroutines
	wg       sync.WaitGroup  // room goroutines

	idxMu sync.Mutex
	index map[string]*entry // transport id → room
}

// New prepares an agent; it starts nothing.
func New(cfg Config, deps Deps) (*Agent, error) {
	if deps.Bus == nil || deps.Logger == nil {
		return nil, fmt.Errorf("conference-agent: bus and logger are required")
	}
	cfg = cfg.withDefaults()
	if deps.Store == nil {
		deps.Logger.Warn("conference agent has no store: every join will fail")
	}
	if deps.Scheduler == nil {
		deps.Logger.Warn("conference agent has no scheduler: no transport can be placed")
		deps.Scheduler = noScheduler{}
	}
	w := cluster.Worker{
		ID:      cluster.NewWorkerID(Purpose, cfg.Host),
		Purpose: Purpose,
		MaxLoad: cluster.DefaultMaxLoad,
		Started: time.Now(),
	}
	a := &Agent{
		cfg: cfg, deps: deps, log: deps.Logger.With("agent", w.ID), id: w.ID,
		rtc: rtc.New(deps.Bus, cfg.RTCTimeout, deps.Logger),
		sessions: sessions.New(deps.Bus, sessions.Timeouts{Start: cfg.SessionStartTimeout, In: cfg.StreamingInTimeout},
			deps.Logger),
		mixing: mixing.New(deps.Bus, mixing.Timeouts{Start: cfg.MixStartTimeout}, deps.Logger),
		rooms:  map[string]*entry{}, index: map[string]*entry{},
	}
	a.ann = cluster.NewAnnouncer(deps.Bus, w, cfg.Heartbeat, a.load, deps.Logger)
	a.handlers = a.routes()
	return a, nil
}

// ID returns the agent's cluster worker id.
func (a *Agent) ID() string { return a.id }

// load is the announced load: live rooms over MaxRooms.
func (a *Agent) load() float64 {
	return min(1, float64(a.LiveRooms())/float64(a.cfg.MaxRooms))
}

// LiveRooms returns the number of rooms the agent runs now (rooms with a session: joined,
// or empty and within their clean grace).
func (a *Agent) LiveRooms() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.rooms)
}

// Run serves requests until ctx ends. Then it drops the participants of its rooms (`drop`,
// so clients rejoin through another agent), releases their leases, sends the pending
// terminations to the webrtc agents and leaves the cluster.
func (a *Agent) Run(ctx context.Context) error {
	a.mu.Lock()
	a.base = ctx
	a.mu.Unlock()
	srv, err := a.deps.Bus.Serve(a.id, a.handle)
	if err != nil {
		return fmt.Errorf("conference-agent: serve %s: %w", a.id, err)
	}
	events, err := rtc.Listen(a.deps.Bus, a.id, a.log, a.routeEvent)
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("conference-agent: listen for rtc events: %w", err)
	}
	sessEvents, err := sessions.Listen(a.deps.Bus, a.id, a.log, a.routeSession)
	if err != nil {
		_ = events.Close()
		_ = srv.Close()
		return fmt.Errorf("conference-agent: listen for session events: %w", err)
	}
	mixEvents, err := mixing.Listen(a.deps.Bus, a.id, a.log, a.routeMix)
	if err != nil {
		_ = sessEvents.Close()
		_ = events.Close()
		_ = srv.Close()
		return fmt.Errorf("conference-agent: listen for mix events: %w", err)
	}
	rtcCtx, stopRTC := context.WithCancel(context.WithoutCancel(ctx))
	rtcDone := make(chan struct{}, 3)
	go func() { defer func() { rtcDone <- struct{}{} }(); _ = a.rtc.Run(rtcCtx) }()
	go func() { defer func() { rtcDone <- struct{}{} }(); _ = a.sessions.Run(rtcCtx) }()
	go func() { defer func() { rtcDone <- struct{}{} }(); _ = a.mixing.Run(rtcCtx) }()
	annErr := make(chan error, 1)
	go func() { annErr <- a.ann.Run(ctx) }()

	<-ctx.Done()
	_ = srv.Close()
	a.mu.Lock()
	a.stopping = true
	a.mu.Unlock()
	a.wg.Wait() // the rooms' keepers see ctx end and drop their rooms
	_ = events.Close()
	_ = sessEvents.Close()
	_ = mixEvents.Close()
	stopRTC() // the queued terminations, session and mix stops are sent before Run returns
	<-rtcDone
	<-rtcDone
	<-rtcDone
	return <-annErr
}

// workerLister is the part of *cluster.Registry that tells whether a purpose has workers.
type workerLister interface {
	Workers(purpose string) []cluster.Worker
}

// hasWorker returns the rooms' HasWorker: the Scheduler's registry when it lists workers,
// else nil (rooms then ask the Scheduler, which waits up to ScheduleTimeout).
func (a *Agent) hasWorker() func(string) bool {
	reg, ok := a.deps.Scheduler.(workerLister)
	if !ok {
		return nil
	}
	return func(purpose string) bool { return len(reg.Workers(purpose)) > 0 }
}

// noScheduler is the Scheduler of an agent built without one.
type noScheduler struct{}

func (noScheduler) Schedule(context.Context, string, string, store.Preference) (cluster.Worker, error) {
	return cluster.Worker{}, cluster.ErrNoWorker
}

func (noScheduler) Forget(string) {}

// boundedScheduler limits the wait for a webrtc agent.
type boundedScheduler struct {
	inner   Scheduler
	timeout time.Duration
}

func (s boundedScheduler) Schedule(ctx context.Context, purpose, task string, pref store.Preference) (cluster.Worker, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.inner.Schedule(ctx, purpose, task, pref)
}

func (s boundedScheduler) Forget(worker string) { s.inner.Forget(worker) }
