// Command ferretserver runs an embedded FerretDB (MongoDB wire protocol on SQLite) for Conclave's
// integration tests and local distributed runs.
//
// It is its own module so FerretDB's large dependency graph stays out of the Conclave modules.
// Build it with:
//
//	cd scripts/ferretserver && GOWORK=off go build -o ../../bin/ferretserver .
//
// FerretDB's own cmd/ferretdb cannot be built from the module cache (it panics on a missing
// build/version/version.txt), so this program embeds the public ferretdb package instead.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// options are the parsed command-line flags.
type options struct {
	listen      string
	dir         string
	logLevel    string
	allowRemote bool
}

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ferretserver:", err)
		os.Exit(1)
	}
}

// run parses args, starts FerretDB and blocks until SIGINT or SIGTERM.
func run(args []string, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if err := checkListen(opts.listen, opts.allowRemote); err != nil {
		return err
	}
	level, err := parseLevel(opts.logLevel)
	if err != nil {
		return err
	}
	dir, cleanup, err := dataDir(opts.dir)
	if err != nil {
		return err
	}
	defer cleanup()

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: opts.listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		return fmt.Errorf("start ferretdb: %w", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger.Warn("ferretserver listening", "listen", opts.listen, "dir", dir)
	// Run returns once ctx ends and every listener, connection and the backend are closed.
	if err := f.Run(ctx); err != nil {
		return fmt.Errorf("run ferretdb: %w", err)
	}
	logger.Warn("ferretserver stopped")
	return nil
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("ferretserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:27018", "TCP address to listen on (loopback only unless -allow-remote)")
	fs.StringVar(&o.dir, "dir", "", "SQLite data directory (empty: a temporary directory removed at exit)")
	fs.StringVar(&o.logLevel, "log", "error", "log level: error, warn or info")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow a non-loopback listen address")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return o, nil
}

// checkListen refuses addresses that would expose the test database beyond this machine,
// including an empty host, which means every interface.
func checkListen(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", addr, err)
	}
	if allowRemote || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("-listen %q is not a loopback address (use -allow-remote to override)", addr)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "error":
		return slog.LevelError, nil
	case "warn":
		return slog.LevelWarn, nil
	case "info":
		return slog.LevelInfo, nil
	}
	return 0, fmt.Errorf("-log %q: want error, warn or info", s)
}

// dataDir returns an absolute data directory, creating it if needed. With an empty dir it makes
// a temporary one and the returned cleanup removes it.
func dataDir(dir string) (string, func(), error) {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ferretserver-")
		if err != nil {
			return "", nil, fmt.Errorf("temporary data dir: %w", err)
		}
		return tmp, func() { _ = os.RemoveAll(tmp) }, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, fmt.Errorf("-dir %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", nil, fmt.Errorf("-dir %q: %w", dir, err)
	}
	return abs, func() {}, nil
}
