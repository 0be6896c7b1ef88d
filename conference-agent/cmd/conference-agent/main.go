// Command conference-agent runs the conference agent (live rooms) as a separate process of a
// distributed deployment.
package main

import (
	"context"
	"os"

	"github.com/conclave-rtc/conclave/common/boot"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/conference-agent/agent"
	"golang.org/x/sync/errgroup"
)

func main() {
	os.Exit(boot.Command("conference-agent", true, func(ctx context.Context, p boot.Process) error {
		reg, err := cluster.NewRegistry(p.Bus, cluster.RegistryConfig{Strategies: p.Config.Cluster.Strategies}, p.Log)
		if err != nil {
			return err
		}
		a, err := agent.New(agent.Config{Host: p.Host, Heartbeat: p.Config.Cluster.Heartbeat,
			ChatMaxMessages: p.Config.Conference.ChatMaxMessages, ChatMaxBytes: p.Config.Conference.ChatMaxBytes,
			CleanGrace: p.Config.Conference.CleanGrace},
			agent.Deps{Bus: p.Bus, Logger: p.Log, Store: p.Store, Scheduler: reg, Alive: reg.Alive})
		if err != nil {
			return err
		}
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() error { return reg.Run(gctx) })
		g.Go(func() error { return a.Run(gctx) })
		return g.Wait()
	}))
}
