package boot

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/config"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/common/version"
)

// Process is what a separate agent binary runs with: its configuration, logger, host name, the
// RabbitMQ bus and, when asked for, the MongoDB store.
type Process struct {
	Config config.Config
	Log    *slog.Logger
	Host   string
	Bus    bus.Bus
	Store  store.Store // nil unless the command needs it
}

// Command is the whole main of a separate binary of a distributed deployment: `name version`
// prints the build (common/version) and returns 0; otherwise it reads -config
// and the environment, requires a RabbitMQ bus (and MongoDB when needStore), opens them, and
// runs run under Main. It returns the exit code.
func Command(name string, needStore bool, run func(ctx context.Context, p Process) error) int {
	if version.Requested(os.Args[1:]) {
		fmt.Println(name, version.Get())
		return 0
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cfgPath := fs.String("config", "", "YAML config file (default $CONCLAVE_CONFIG; see config.sample.yaml)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	cfg, err := LoadConfig(*cfgPath)
	if err == nil {
		err = requireDistributed(cfg, needStore)
	}
	var log *slog.Logger
	if err == nil {
		log, err = Logger(cfg, os.Stderr)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 2
	}
	host, _ := os.Hostname()
	return Main(func(ctx context.Context) error {
		p := Process{Config: cfg, Log: log, Host: host}
		if p.Bus, err = OpenBus(cfg, log); err != nil {
			return fmt.Errorf("bus: %w", err)
		}
		defer p.Bus.Close()
		if err := p.Config.ResolveMediaLinks(ctx); err != nil {
			return err
		}
		if needStore {
			key, err := ClusterKey(cfg, false)
			if err != nil {
				return err
			}
			if p.Store, err = OpenStore(ctx, cfg, key); err != nil {
				return fmt.Errorf("store: %w", err)
			}
			defer p.Store.Close(context.WithoutCancel(ctx))
		}
		return run(ctx, p)
	}, cfg.ShutdownTimeout, log)
}

func requireDistributed(cfg config.Config, needStore bool) error {
	if cfg.Bus.URL == "" {
		return errors.New("bus.url (CONCLAVE_BUS_URL) is required: separate binaries talk over RabbitMQ (or run the all-in-one cmd/conclave)")
	}
	if needStore && cfg.Store.MongoURI == "" {
		return errors.New("store.mongoURI (CONCLAVE_MONGO_URI) is required: separate binaries share MongoDB (or run the all-in-one cmd/conclave)")
	}
	return nil
}
