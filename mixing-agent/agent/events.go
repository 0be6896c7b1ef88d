package agent

import (
	"context"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// publishTimeout bounds one event publication.
const publishTimeout = 2 * time.Second

// emit publishes a mix event to the controller's MixTopic.
func (a *Agent) emit(ev protocol.MixEvent, controller string) {
	if controller == "" {
		a.log.Warn("mix event without controller dropped", "mix", ev.ID, "type", ev.Type)
		return
	}
	ev.Agent = a.id
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	if err := a.bus.Publish(ctx, protocol.MixTopic(controller), ev); err != nil {
		a.log.Warn("mix event publication failed", "mix", ev.ID, "type", ev.Type, "error", err)
	}
}
