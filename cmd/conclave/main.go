// Command conclave runs the whole platform in one process, or drives a deployment with load.
//
//	conclave [serve] [-config FILE]   the management API, a portal and every agent, on the
//	                                  in-process bus and the embedded store under ./data (or on
//	                                  RabbitMQ and MongoDB when CONCLAVE_BUS_URL /
//	                                  CONCLAVE_MONGO_URI are set)
//	conclave version                  the release, commit and Go version of this build
//	conclave load [flags]             the load generator (conclave load -h; package internal/load)
//	conclave load rest [flags] M PATH one signed REST request repeated (each signed afresh),
//	                                  printing requests/s and server CPU as JSON
//
// In serve mode, CONCLAVE_PPROF_LISTEN=127.0.0.1:PORT serves net/http/pprof on that loopback
// address (off by default).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/conclave-rtc/conclave/common/boot"
	"github.com/conclave-rtc/conclave/common/version"
	"github.com/conclave-rtc/conclave/internal/allinone"
	"github.com/conclave-rtc/conclave/internal/load"
)

func main() {
	args := os.Args[1:]
	if version.Requested(args) {
		fmt.Println("conclave", version.Get())
		return
	}
	cmd := "serve"
	if len(args) > 0 && (args[0] == "serve" || args[0] == "load") {
		cmd, args = args[0], args[1:]
	}
	if cmd == "load" && len(args) > 0 && args[0] == "rest" {
		os.Exit(runREST(args[1:]))
	}
	if cmd == "load" {
		os.Exit(runLoad(args))
	}
	os.Exit(serve(args))
}

// serve runs the all-in-one platform until SIGINT/SIGTERM.
func serve(args []string) int {
	fs := flag.NewFlagSet("conclave serve", flag.ExitOnError)
	cfgPath := fs.String("config", "", "YAML config file (default $CONCLAVE_CONFIG; see config.sample.yaml)")
	_ = fs.Parse(args)
	cfg, err := boot.LoadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conclave:", err)
		return 2
	}
	log, err := boot.Logger(cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conclave:", err)
		return 2
	}
	return boot.Main(func(ctx context.Context) error {
		if addr := os.Getenv("CONCLAVE_PPROF_LISTEN"); addr != "" {
			stop, err := servePprof(addr, log)
			if err != nil {
				return err
			}
			defer stop()
		}
		return allinone.Run(ctx, cfg, log, os.Stdout)
	}, cfg.ShutdownTimeout, log)
}

// servePprof serves the profiling endpoints on a loopback address until stop is called.
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("CONCLAVE_PPROF_LISTEN=%q: want a loopback IP:port", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof server", "err", err)
		}
	}()
	log.Info("pprof listening", "addr", ln.Addr().String())
	return func() { _ = srv.Close(); <-done }, nil
}

// runREST runs `conclave load rest`.
func runREST(args []string) int {
	cfg, err := load.ParseRESTFlags(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "conclave load rest:", err)
		return 2
	}
	res, err := load.RunREST(context.Background(), cfg)
	if err == nil {
		err = load.PrintREST(os.Stdout, res)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "conclave load rest:", err)
		return 1
	}
	if res.Errors > 0 {
		fmt.Fprintf(os.Stderr, "conclave load rest: %d of %d requests failed, first: %s\n", res.Errors, res.Requests, res.FirstError)
		return 1
	}
	return 0
}

// runLoad runs the load tool: the report goes to stdout (text or -json), progress to stderr.
// Exit status 2 for bad flags, 1 when the run itself failed, 3 when it ran but participants
// met errors (the report, printed all the same, lists them), else 0.
func runLoad(args []string) int {
	cfg, err := load.ParseFlags(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "conclave load:", err)
		return 2
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	rep, err := load.Run(ctx, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conclave load:", err)
		return 1
	}
	if cfg.JSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(os.Stderr, "conclave load:", err)
			return 1
		}
	} else {
		rep.WriteText(os.Stdout)
	}
	if rep.ErrorCount > 0 {
		fmt.Fprintf(os.Stderr, "conclave load: %d errors (by kind: %v)\n", rep.ErrorCount, rep.Errors)
		return exitReportErrors
	}
	return 0
}

// exitReportErrors is the exit status of a load run that completed with errors in its report.
const exitReportErrors = 3
