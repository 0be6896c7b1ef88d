// Command webrtc-agent runs the SFU as a separate process of a distributed deployment.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/conclave-rtc/conclave/common/boot"
	"github.com/conclave-rtc/conclave/webrtc-agent/agent"
)

func main() {
	os.Exit(boot.Command("webrtc-agent", false, func(ctx context.Context, p boot.Process) error {
		key, _ := boot.ClusterKey(p.Config, false) // optional: see agent.FromConfig
		a, err := agent.New(agent.FromConfig(p.Config, p.Host, key), agent.Deps{Bus: p.Bus, Logger: p.Log})
		if err != nil {
			return err
		}
		addr := p.Config.WebRTC.MetricsListen
		if addr == "" {
			return a.Run(ctx)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		p.Log.Info("metrics", "listen", ln.Addr().String())
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error { return a.Run(gctx) })
		g.Go(func() error { return serveMetrics(gctx, ln, a.Collector()) })
		return g.Wait()
	}))
}

// serveMetrics serves GET /metrics (the agent's collector, Go runtime and process metrics) on
// ln until ctx ends.
func serveMetrics(ctx context.Context, ln net.Listener, c prometheus.Collector) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}
