// Package server is the OWT-compatible management REST API server: MAuth-authenticated
// services, rooms, tokens and live room resources, plus /healthz, /readyz and /metrics. The
// standalone binary (cmd/management-api) and the all-in-one binary both embed it.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/common/version"
	"github.com/conclave-rtc/conclave/management-api/internal/auth"
	"github.com/conclave-rtc/conclave/management-api/internal/metrics"
	"github.com/conclave-rtc/conclave/management-api/internal/rest"
	"github.com/conclave-rtc/conclave/management-api/openapi"
)

// Scheduler picks a worker of a purpose ("portal", "conference") for a task; *cluster.Registry
// implements it.
type Scheduler = rest.Scheduler

// Deps are the server's collaborators.
type Deps struct {
	Store     store.Store
	Bus       bus.Bus
	Scheduler Scheduler
	// Logger receives request and error logs (nil: discarded).
	Logger *slog.Logger
	// Now returns the current time (nil: time.Now).
	Now func() time.Time
}

// Server is the management API. New builds it without starting anything; Listen and Run
// serve it.
type Server struct {
	cfg     Config
	deps    Deps
	handler http.Handler
	engine  *gin.Engine // behind handler; its Routes() are what the OpenAPI test compares
	metrics *metrics.Metrics

	mu sync.Mutex
	ln net.Listener
}

// New validates cfg and deps and builds the HTTP handler. Zero sizes and timeouts in cfg take
// their defaults.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Store == nil || deps.Bus == nil || deps.Scheduler == nil {
		return nil, fmt.Errorf("%w: Store, Bus and Scheduler are required", ErrConfig)
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	spec, err := openapi.JSON()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, deps: deps}
	s.handler = s.build(spec)
	return s, nil
}

// Handler returns the server's HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// RegisterCollector adds a collector to the registry GET /metrics serves: a process that
// runs other parts with the API (the all-in-one) exposes their metrics on the same endpoint.
func (s *Server) RegisterCollector(c prometheus.Collector) error { return s.metrics.Register(c) }

// Listen opens the listening socket; Addr then reports its address (useful with port 0).
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return ErrListening
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("management api: listen %s: %w", s.cfg.Listen, err)
	}
	s.ln = ln
	return nil
}

// Addr returns the listening address, or nil before Listen.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Run serves until ctx ends, then shuts down gracefully within ShutdownTimeout. It listens
// first if Listen was not called. It returns nil after a graceful stop.
func (s *Server) Run(ctx context.Context) error {
	if s.Addr() == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.deps.Logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	hctx, stopHousekeeping := context.WithCancel(ctx)
	housekept := make(chan struct{})
	go func() { defer close(housekept); s.housekeep(hctx) }()
	defer func() { stopHousekeeping(); <-housekept }()
	s.deps.Logger.Info("management api listening", "addr", ln.Addr().String())
	select {
	case err := <-served:
		return fmt.Errorf("management api: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && serr != nil {
		return fmt.Errorf("management api: serve: %w", serr)
	}
	if err != nil {
		return fmt.Errorf("management api: shutdown: %w", err)
	}
	return nil
}

// Housekeeping: expired one-time tokens (they live 180 s) and request nonces are removed
// from the store every housekeepingPeriod; every instance does it, which is harmless.
const (
	housekeepingPeriod = time.Minute
	tokenRetention     = 10 * time.Minute
)

// housekeep purges the store until ctx ends.
func (s *Server) housekeep(ctx context.Context) {
	t := time.NewTicker(housekeepingPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := s.deps.Now()
		if n, err := s.deps.Store.PurgeNonces(ctx, now); err != nil {
			s.deps.Logger.Warn("purging request nonces failed", "err", err)
		} else if n > 0 {
			s.deps.Logger.Debug("request nonces purged", "count", n)
		}
		if _, err := s.deps.Store.PurgeTokens(ctx, now.Add(-tokenRetention)); err != nil {
			s.deps.Logger.Warn("purging expired tokens failed", "err", err)
		}
	}
}

// build assembles the gin engine behind the CORS/OPTIONS/trailing-slash front.
func (s *Server) build(spec []byte) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	s.engine = e
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.HandleMethodNotAllowed = false

	m := metrics.New()
	s.metrics = m
	authn := auth.New(auth.Config{
		SuperServiceID: s.cfg.SuperServiceID, CacheTTL: s.cfg.CacheTTL, ReplayWindow: s.cfg.ReplayWindow,
		RateLimit: s.cfg.RateLimit, FailureDelay: s.cfg.AuthFailureDelay, Now: s.deps.Now,
	}, s.deps.Store, s.deps.Logger)
	api := rest.New(rest.Config{
		BodyLimit: s.cfg.BodyLimit, CacheTTL: s.cfg.CacheTTL, SuperServiceID: s.cfg.SuperServiceID,
		DefaultPreference: s.cfg.TokenPreferenceDefault, ScheduleTimeout: s.cfg.ScheduleTimeout,
		CallTimeout: s.cfg.CallTimeout, AddTimeout: s.cfg.AddTimeout, ICEServers: s.cfg.ICEServers,
	}, rest.Deps{Store: s.deps.Store, Bus: s.deps.Bus, Scheduler: s.deps.Scheduler, Auth: authn,
		Log: s.deps.Logger, Now: s.deps.Now})

	e.Use(m.Middleware(s.deps.Logger), recovery(s.deps.Logger))
	e.GET("/healthz", gin.WrapH(version.HealthHandler()))
	e.GET("/readyz", s.ready)
	e.GET("/metrics", gin.WrapH(m.Handler()))
	e.GET(openapi.Path, func(c *gin.Context) { c.Data(http.StatusOK, "application/json; charset=utf-8", spec) })
	if s.cfg.Console != nil {
		h := gin.WrapH(s.cfg.Console)
		for _, path := range []string{"/console", "/console/*file"} {
			e.GET(path, h)
			e.HEAD(path, h)
		}
	}
	api.Register(e, authn.Middleware())
	e.NoRoute(noRoute(authn.Middleware()))
	return front(e)
}

// ready answers 200 when the store answers a ping within a second, else 503.
func (s *Server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), time.Second)
	defer cancel()
	if err := s.deps.Store.Ping(ctx); err != nil {
		s.deps.Logger.Warn("readiness check failed", "err", err)
		c.String(http.StatusServiceUnavailable, "store unavailable")
		return
	}
	c.String(http.StatusOK, "ok")
}
