// Package boot turns a config.Config into the running parts every Conclave binary needs: the
// logger, the cluster key, the store, the bus and the signal handling. The all-in-one binary and
// each separate agent binary call the same functions, so both deployments share one code path.
package boot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	busamqp "github.com/conclave-rtc/conclave/common/bus/amqp"
	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/config"
	"github.com/conclave-rtc/conclave/common/logging"
	"github.com/conclave-rtc/conclave/common/secret"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/common/store/embedded"
	storemongo "github.com/conclave-rtc/conclave/common/store/mongo"
)

// LoadConfig reads the config file named by the -config flag value path (or $CONCLAVE_CONFIG
// when path is empty) and the CONCLAVE_* environment.
func LoadConfig(path string) (config.Config, error) {
	if path == "" {
		path = os.Getenv("CONCLAVE_CONFIG")
	}
	return config.Load(path, os.LookupEnv)
}

// Logger builds the process logger from cfg.
func Logger(cfg config.Config, w io.Writer) (*slog.Logger, error) {
	return logging.New(cfg.Log.Level, cfg.Log.Format, w)
}

// ClusterKey returns the configured cluster key, or (only when allowGenerate, i.e. the
// all-in-one binary) the key kept in <dataDir>/cluster.key, created on first start.
func ClusterKey(cfg config.Config, allowGenerate bool) (secret.Key, error) {
	if cfg.ClusterKey != "" {
		return secret.Parse(cfg.ClusterKey)
	}
	if !allowGenerate {
		return secret.Key{}, errors.New("clusterKey (CONCLAVE_CLUSTER_KEY) is required when running distributed: every process must share it")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return secret.Key{}, fmt.Errorf("dataDir: %w", err)
	}
	return secret.LoadOrCreate(filepath.Join(cfg.DataDir, "cluster.key"))
}

// OpenStore opens MongoDB when cfg.Store.MongoURI is set, else the embedded store in
// cfg.DataDir.
func OpenStore(ctx context.Context, cfg config.Config, key secret.Key) (store.Store, error) {
	box, err := secret.NewBox(key.Derive(secret.PurposeServiceKey))
	if err != nil {
		return nil, err
	}
	if cfg.Store.MongoURI != "" {
		return storemongo.Open(ctx, cfg.Store.MongoURI, cfg.Store.MongoDatabase, box)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("dataDir: %w", err)
	}
	return embedded.Open(cfg.DataDir, box)
}

// OpenBus connects to RabbitMQ when cfg.Bus.URL is set, else returns an in-process bus.
func OpenBus(cfg config.Config, log *slog.Logger) (bus.Bus, error) {
	if cfg.Bus.URL != "" {
		return busamqp.New(busamqp.Config{
			URL:               cfg.Bus.URL,
			Prefix:            cfg.Bus.Prefix,
			Logger:            log,
			PublisherConfirms: true,
		})
	}
	return local.New(local.NewHub(local.Config{Logger: log})), nil
}

// Main runs run until it returns, draining on the first SIGINT/SIGTERM (run's ctx is
// cancelled) and giving up on a second signal or when the drain exceeds drainTimeout. It returns
// the process exit code; main passes it to os.Exit.
func Main(run func(ctx context.Context) error, drainTimeout time.Duration, log *slog.Logger) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	done := make(chan error, 1)
	go func() { done <- run(ctx) }()

	var deadline <-chan time.Time
	for {
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				log.Error("exiting", "err", err)
				return 1
			}
			log.Info("stopped")
			return 0
		case s := <-sigs:
			if ctx.Err() != nil {
				log.Warn("second signal, exiting now", "signal", s.String())
				return 1
			}
			log.Info("draining", "signal", s.String(), "timeout", drainTimeout.String())
			cancel()
			deadline = time.After(drainTimeout)
		case <-deadline:
			log.Warn("drain timed out, exiting now")
			return 1
		}
	}
}
