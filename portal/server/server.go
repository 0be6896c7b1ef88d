// Package server is the portal: the Socket.IO signaling endpoint OWT clients connect to with
// their token (owt-protocol.md §4).
//
// It announces itself in the cluster registry with the public address that goes into tokens,
// so the management API can schedule portals by ISP/region preference, and it listens on its
// own bus topic (protocol.PortalTopic) for the conference agents' client notices.
//
// Layering: server (HTTP, cluster, bus topic) → internal/signaling (per-client state
// machine) → internal/rooms (finding and calling a room's conference agent) →
// internal/legacy (protocol 1.1/1.0 conversions) and internal/check (request validation).
package server

import (
	"context"
	"errors"
	"fmt"
	"github.com/conclave-rtc/conclave/common/iceconfig"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/common/version"
	"github.com/conclave-rtc/conclave/portal/internal/rooms"
	"github.com/conclave-rtc/conclave/portal/internal/signaling"
	"github.com/conclave-rtc/conclave/portal/internal/socketio"
	"github.com/conclave-rtc/conclave/portal/internal/whip"
	"golang.org/x/sync/errgroup"
)

// Config is the portal's configuration. Zero values of the tuning fields take defaults.
type Config struct {
	Listen     string   // host:port of the signaling server
	PublicHost string   // host:port clients are told to connect to (in tokens)
	Secure     bool     // clients connect with https/wss
	ViaHost    string   // optional OWT via_host
	ISPs       []string // capacity.isps for scheduling
	Regions    []string // capacity.regions for scheduling
	Heartbeat  time.Duration

	// IdleTimeout closes sockets that do not log in (default 60 s; OWT 3 min).
	IdleTimeout time.Duration
	// ReconnectGrace is how long a participant whose socket dropped waits for a relogin
	// (default 60 s, OWT reconnection_timeout).
	ReconnectGrace time.Duration
	// TicketLifetime is the reconnection ticket validity (default 600 s).
	TicketLifetime time.Duration
	// TokenLifetime is the age after which a token is Expired (default 180 s).
	TokenLifetime time.Duration
	// PendingLimit bounds the messages queued per disconnected client (default 1024).
	PendingLimit int
	// AgentGrace is how long after a join the room's conference agent is exempt from the
	// liveness check (default 5 s: the registry may not have heard the agent yet).
	AgentGrace time.Duration

	// Socket.IO limits (defaults: socketio.DefaultConfig).
	PingInterval       time.Duration
	PingTimeout        time.Duration
	MaxMessageBytes    int
	MaxEventsPerSecond float64
	AllowedOrigins     []string
	// Sessions not logged in yet, per client address and in total (0: defaults; negative:
	// no limit).
	MaxPendingPerAddress int
	MaxPending           int
	// ICEServers are handed to clients in the login answer (nil: none).
	ICEServers *iceconfig.Issuer

	// Extra, when set, serves every path other than /socket.io/ and /healthz (the all-in-one
	// binary mounts its demo page there).
	Extra http.Handler
}

// Store is what the portal needs from the store: the token key, one-time tokens, the
// room leases and the stream keys of WHIP publishers.
type Store interface {
	signaling.TokenStore
	rooms.Leases
	whip.KeyStore
}

// Scheduler picks a worker for a task (*cluster.Registry).
type Scheduler interface {
	Schedule(ctx context.Context, purpose, task string, pref store.Preference) (cluster.Worker, error)
}

var _ Scheduler = (*cluster.Registry)(nil)

// Deps are the portal's collaborators. Store nil: every login fails with "Portal is not
// ready". Scheduler nil: the portal runs its own cluster.Registry on the bus, whose Alive is
// also the default Alive. Alive nil with a Scheduler that is not a *cluster.Registry: agents
// are never considered dead.
type Deps struct {
	Bus       bus.Bus
	Logger    *slog.Logger
	Store     Store
	Scheduler Scheduler
	Alive     func(workerID string) bool
}

// Server is a portal instance.
type Server struct {
	cfg    Config
	deps   Deps
	worker cluster.Worker
	ln     net.Listener
	reg    *cluster.Registry // own registry when Deps.Scheduler was nil
	hub    *signaling.Hub
	sio    *socketio.Server
	whip   *whip.Server
}

// New validates cfg and prepares a portal; it starts nothing.
func New(cfg Config, deps Deps) (*Server, error) {
	if deps.Bus == nil || deps.Logger == nil {
		return nil, errors.New("portal: bus and logger are required")
	}
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return nil, fmt.Errorf("portal: listen %q: %w", cfg.Listen, err)
	}
	if cfg.PublicHost == "" {
		return nil, errors.New("portal: public host is required")
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = time.Second
	}
	s := &Server{cfg: cfg, deps: deps, worker: cluster.Worker{
		ID:      cluster.NewWorkerID(cluster.PurposePortal, cfg.PublicHost),
		Purpose: cluster.PurposePortal,
		MaxLoad: cluster.DefaultMaxLoad,
		ISPs:    cfg.ISPs,
		Regions: cfg.Regions,
		Host:    cfg.PublicHost,
		Secure:  cfg.Secure,
		ViaHost: cfg.ViaHost,
		Started: time.Now(),
	}}
	if err := s.build(); err != nil {
		return nil, err
	}
	return s, nil
}

// build creates the registry (if needed), the hub and the Socket.IO server.
func (s *Server) build() error {
	log := s.deps.Logger
	sched, alive := s.deps.Scheduler, s.deps.Alive
	if sched == nil {
		reg, err := cluster.NewRegistry(s.deps.Bus, cluster.RegistryConfig{}, log)
		if err != nil {
			return fmt.Errorf("portal: %w", err)
		}
		s.reg, sched = reg, reg
	}
	if reg, ok := sched.(*cluster.Registry); ok && alive == nil {
		alive = reg.Alive
	}
	var leases rooms.Leases = noLeases{}
	var tokens signaling.TokenStore
	if s.deps.Store != nil {
		leases, tokens = s.deps.Store, s.deps.Store
	} else {
		log.Warn("portal has no store: logins will fail")
	}
	router := rooms.New(s.deps.Bus, leases, sched, rooms.Config{}, log)
	hub, err := signaling.NewHub(signaling.Config{
		PortalID: s.worker.ID, IdleTimeout: s.cfg.IdleTimeout, ReconnectGrace: s.cfg.ReconnectGrace,
		TicketLifetime: s.cfg.TicketLifetime, TokenLifetime: s.cfg.TokenLifetime, PendingLimit: s.cfg.PendingLimit,
		AgentGrace: s.cfg.AgentGrace, ICEServers: s.cfg.ICEServers,
	}, signaling.Deps{Conference: router, Tokens: tokens, Alive: alive, Logger: log})
	if err != nil {
		return fmt.Errorf("portal: %w", err)
	}
	sio, err := socketio.NewServer(socketio.Config{
		PingInterval: s.cfg.PingInterval, PingTimeout: s.cfg.PingTimeout,
		MaxMessageBytes: s.cfg.MaxMessageBytes, MaxEventsPerSecond: s.cfg.MaxEventsPerSecond,
		AllowedOrigins:       s.cfg.AllowedOrigins,
		MaxPendingPerAddress: s.cfg.MaxPendingPerAddress, MaxPending: s.cfg.MaxPending,
	}, log)
	if err != nil {
		return fmt.Errorf("portal: %w", err)
	}
	sio.OnConnection(hub.Mount)
	var keys whip.KeyStore
	if s.deps.Store != nil {
		keys = s.deps.Store
	}
	s.hub, s.sio = hub, sio
	s.whip = whip.New(whip.Config{ICEServers: s.cfg.ICEServers}, hub, keys, log)
	return nil
}

// WHIPSessions returns the number of live WHIP and WHEP sessions.
func (s *Server) WHIPSessions() int { return s.whip.Count() }

// Participants returns the number of participants this portal holds (sockets and WHIP/WHEP
// sessions).
func (s *Server) Participants() int { return s.hub.Count() }

// ID returns the portal's cluster worker id.
func (s *Server) ID() string { return s.worker.ID }

// Listen binds the signaling address; Run calls it when it has not been called.
func (s *Server) Listen() (net.Addr, error) {
	if s.ln != nil {
		return s.ln.Addr(), nil
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	s.ln = ln
	return ln.Addr(), nil
}

// Run serves until ctx ends, announcing the portal in the cluster meanwhile. On the way out
// it closes every socket (their participants leave their rooms) before returning.
func (s *Server) Run(ctx context.Context) error {
	if _, err := s.Listen(); err != nil {
		return err
	}
	sub, err := s.deps.Bus.Subscribe(protocol.PortalTopic(s.worker.ID), s.onNotice)
	if err != nil {
		_ = s.ln.Close()
		return fmt.Errorf("portal: subscribe notices: %w", err)
	}
	defer sub.Close()
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", version.HealthHandler())
	mux.Handle("/socket.io/", s.sio)
	s.whip.Register(mux)
	if s.cfg.Extra != nil {
		mux.Handle("/", s.cfg.Extra)
	}
	// Idle keep-alive connections (long-polling clients between requests, health checks) are
	// closed after two minutes, so clients that vanished without closing them hold nothing.
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	ann := cluster.NewAnnouncer(s.deps.Bus, s.worker, s.cfg.Heartbeat, func() float64 { return 0 }, s.deps.Logger)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ann.Run(gctx) })
	g.Go(func() error { return s.hub.Run(gctx) })
	if s.reg != nil {
		g.Go(func() error { return s.reg.Run(gctx) })
	}
	g.Go(func() error {
		if err := hs.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("portal: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		s.hub.BeginShutdown()
		_ = s.sio.Close() // releases long-polls and runs the disconnect handlers
		s.whip.Close()    // WHIP/WHEP participants leave as sockets do
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return hs.Shutdown(sctx)
	})
	s.deps.Logger.Info("portal listening", "addr", s.ln.Addr().String(), "public", s.cfg.PublicHost, "id", s.worker.ID)
	return g.Wait()
}

// onNotice delivers a conference agent's notice; it never blocks on sockets.
func (s *Server) onNotice(_ context.Context, ev bus.Event) {
	var n protocol.PortalNotice
	if err := ev.Decode(&n); err != nil {
		s.deps.Logger.Warn("bad portal notice", "err", err)
		return
	}
	s.hub.Deliver(n)
}

// noLeases is the lease store of a portal without a store: no room is live.
type noLeases struct{}

// GetLease implements rooms.Leases.
func (noLeases) GetLease(context.Context, string) (store.Lease, error) {
	return store.Lease{}, store.ErrNotFound
}
