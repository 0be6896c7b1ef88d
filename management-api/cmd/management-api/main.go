// Command management-api serves the OWT management REST API as a separate process of a
// distributed deployment (RabbitMQ bus, MongoDB store). Any number of instances may run.
package main

import (
	"context"
	"errors"
	"os"

	"github.com/conclave-rtc/conclave/common/boot"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/iceconfig"
	"github.com/conclave-rtc/conclave/management-api/server"
	"golang.org/x/sync/errgroup"
)

func main() {
	os.Exit(boot.Command("management-api", true, func(ctx context.Context, p boot.Process) error {
		super := p.Config.SuperService
		if super.ID == "" {
			return errors.New("superService.id (CONCLAVE_SUPER_SERVICE_ID) is required")
		}
		if super.Key != "" {
			if _, _, err := server.EnsureSuperService(ctx, p.Store, super.ID, super.Key); err != nil {
				return err
			}
		}
		reg, err := cluster.NewRegistry(p.Bus, cluster.RegistryConfig{Strategies: p.Config.Cluster.Strategies}, p.Log)
		if err != nil {
			return err
		}
		key, err := boot.ClusterKey(p.Config, false)
		if err != nil {
			return err
		}
		cfg := server.FromConfig(p.Config, super.ID)
		cfg.ICEServers = iceconfig.Configured(p.Config.TURN, key)
		api, err := server.New(cfg, server.Deps{Store: p.Store, Bus: p.Bus, Scheduler: reg, Logger: p.Log})
		if err != nil {
			return err
		}
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error { return reg.Run(gctx) })
		g.Go(func() error { return api.Run(gctx) })
		return g.Wait()
	}))
}
