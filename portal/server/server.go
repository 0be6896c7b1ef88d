// Package server is the portal: the Socket.IO signaling endpoint OWT clients connect to with
// their token (owt-protocol.md §4).
//
// It announces itself in the cluster registry with the public address that goes into tokens,
// so the management API can schedule portals by ISP/region preference.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/cluster"
	"golang.org/x/sync/errgroup"
)

// Config is the portal's configuration.
type Config struct {
	Listen     string   // host:port of the signaling server
	PublicHost string   // host:port clients are told to connect to (in tokens)
	Secure     bool     // clients connect with https/wss
	ViaHost    string   // optional OWT via_host
	ISPs       []string // capacity.isps for scheduling
	Regions    []string // capacity.regions for scheduling
	Heartbeat  time.Duration
}

// Deps are the portal's collaborators.
type Deps struct {
	Bus    bus.Bus
	Logger *slog.Logger
}

// Server is a portal instance.
type Server struct {
	cfg    Config
	deps   Deps
	worker cluster.Worker
	ln     net.Listener
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
	w := cluster.Worker{
		ID:      cluster.NewWorkerID("portal", cfg.PublicHost),
		Purpose: "portal",
		MaxLoad: 0.85,
		ISPs:    cfg.ISPs,
		Regions: cfg.Regions,
		Host:    cfg.PublicHost,
		Secure:  cfg.Secure,
		ViaHost: cfg.ViaHost,
		Started: time.Now(),
	}
	return &Server{cfg: cfg, deps: deps, worker: w}, nil
}

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

// Run serves until ctx ends, announcing the portal in the cluster meanwhile.
func (s *Server) Run(ctx context.Context) error {
	if _, err := s.Listen(); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ann := cluster.NewAnnouncer(s.deps.Bus, s.worker, s.cfg.Heartbeat, func() float64 { return 0 }, s.deps.Logger)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ann.Run(gctx) })
	g.Go(func() error {
		if err := hs.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("portal: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return hs.Shutdown(sctx)
	})
	s.deps.Logger.Info("portal listening", "addr", s.ln.Addr().String(), "public", s.cfg.PublicHost, "id", s.worker.ID)
	return g.Wait()
}
