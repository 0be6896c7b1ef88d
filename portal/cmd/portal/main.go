// Command portal runs a signaling portal as a separate process of a distributed deployment.
package main

import (
	"context"
	"os"

	"github.com/conclave-rtc/conclave/common/boot"
	"github.com/conclave-rtc/conclave/common/iceconfig"
	"github.com/conclave-rtc/conclave/portal/server"
)

func main() {
	os.Exit(boot.Command("portal", true, func(ctx context.Context, p boot.Process) error {
		c := p.Config.Portal
		key, err := boot.ClusterKey(p.Config, false)
		if err != nil {
			return err
		}
		s, err := server.New(server.Config{
			Listen:     c.Listen,
			PublicHost: c.PublicAddr(),
			Secure:     c.Secure,
			ViaHost:    c.ViaHost,
			ISPs:       c.ISPs,
			Regions:    c.Regions,
			Heartbeat:  p.Config.Cluster.Heartbeat,

			MaxPendingPerAddress: c.MaxPendingPerAddress,
			MaxPending:           c.MaxPending,
			ICEServers:           iceconfig.Configured(p.Config.TURN, key),
		}, server.Deps{Bus: p.Bus, Logger: p.Log, Store: p.Store})
		if err != nil {
			return err
		}
		return s.Run(ctx)
	}))
}
