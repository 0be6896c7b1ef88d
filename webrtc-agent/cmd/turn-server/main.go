// Command turn-server runs the embedded TURN server alone, for distributed deployments (the
// all-in-one binary starts it by itself). It needs neither the bus nor the store: only the
// turn section of the config, and turn.secret or the cluster key to check credentials.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/conclave-rtc/conclave/common/boot"
	"github.com/conclave-rtc/conclave/common/version"
	"github.com/conclave-rtc/conclave/webrtc-agent/turn"
)

func main() {
	if version.Requested(os.Args[1:]) {
		fmt.Println("turn-server", version.Get())
		return
	}
	cfgPath := flag.String("config", "", "YAML config file (default $CONCLAVE_CONFIG; see config.sample.yaml)")
	flag.Parse()
	os.Exit(run(*cfgPath))
}

func run(cfgPath string) int {
	cfg, err := boot.LoadConfig(cfgPath)
	if err != nil {
		return fail(err)
	}
	log, err := boot.Logger(cfg, os.Stderr)
	if err != nil {
		return fail(err)
	}
	key, err := boot.ClusterKey(cfg, false)
	if err != nil && cfg.ClusterKey != "" {
		return fail(err) // a malformed key is an error even when turn.secret makes it unneeded
	}
	tc, err := turn.FromConfig(cfg.TURN, key, log)
	if err != nil {
		return fail(err)
	}
	srv, err := turn.New(tc)
	if err != nil {
		return fail(err)
	}
	return boot.Main(srv.Run, cfg.ShutdownTimeout, log)
}

func fail(err error) int {
	fmt.Fprintf(os.Stderr, "turn-server: %v\n", err)
	return 2
}
