// Command recording-agent runs the recording agent as a separate process of a distributed deployment.
package main

import (
	"context"
	"os"

	"github.com/conclave-rtc/conclave/common/boot"
	"github.com/conclave-rtc/conclave/recording-agent/agent"
)

func main() {
	os.Exit(boot.Command("recording-agent", false, func(ctx context.Context, p boot.Process) error {
		a, err := agent.New(agent.FromConfig(p.Config, p.Host), agent.Deps{Bus: p.Bus, Logger: p.Log})
		if err != nil {
			return err
		}
		return a.Run(ctx)
	}))
}
