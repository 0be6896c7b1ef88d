// Command mixing-agent runs the mixing agent (mixed views and transcodes, OWT's MCU) as a
// separate process of a distributed deployment.
package main

import (
	"context"
	"os"

	"github.com/conclave-rtc/conclave/common/boot"
	"github.com/conclave-rtc/conclave/mixing-agent/agent"
)

func main() {
	os.Exit(boot.Command("mixing-agent", false, func(ctx context.Context, p boot.Process) error {
		key, _ := boot.ClusterKey(p.Config, false) // optional: see agent.FromConfig
		a, err := agent.New(agent.FromConfig(p.Config, p.Host, key), agent.Deps{Bus: p.Bus, Logger: p.Log})
		if err != nil {
			return err
		}
		return a.Run(ctx)
	}))
}
