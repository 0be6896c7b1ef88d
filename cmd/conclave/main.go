// Command conclave runs the whole platform in one process: the management API, a portal and
// every agent, on the in-process bus and the embedded store under ./data (or on RabbitMQ and
// MongoDB when CONCLAVE_BUS_URL / CONCLAVE_MONGO_URI are set).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/conclave-rtc/conclave/common/boot"
	"github.com/conclave-rtc/conclave/internal/allinone"
)

func main() {
	cfgPath := flag.String("config", "", "YAML config file (default $CONCLAVE_CONFIG; see config.sample.yaml)")
	flag.Parse()
	cfg, err := boot.LoadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conclave:", err)
		os.Exit(2)
	}
	log, err := boot.Logger(cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conclave:", err)
		os.Exit(2)
	}
	os.Exit(boot.Main(func(ctx context.Context) error {
		return allinone.Run(ctx, cfg, log, os.Stdout)
	}, cfg.ShutdownTimeout, log))
}
