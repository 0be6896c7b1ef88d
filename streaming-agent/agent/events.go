package agent

import (
	"context"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// publishTimeout bounds one event publication.
const publishTimeout = 2 * time.Second

// health is a job's reporter (out.Reporter and in.Reporter have this shape).
type health struct {
	Status func(reason string)
	Failed func(reason string)
}

// health builds a job's callbacks: status events while it retries, and a failed event
// (after drop unregisters the job) when it ends on its own.
func (a *Agent) health(controller, id string, drop func()) health {
	return health{
		Status: func(reason string) { a.emit(controller, id, protocol.SessionEventStatus, reason) },
		Failed: func(reason string) {
			drop()
			a.log.Warn("session failed", "streaming", id, "reason", reason)
			a.emit(controller, id, protocol.SessionEventFailed, reason)
		},
	}
}

// emit publishes a session event to the controller.
func (a *Agent) emit(controller, id, typ, reason string) {
	if controller == "" {
		a.log.Warn("session event without controller dropped", "streaming", id, "type", typ)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	ev := protocol.SessionEvent{Agent: a.id, ID: id, Type: typ, Reason: reason}
	if err := a.bus.Publish(ctx, protocol.SessionTopic(controller), ev); err != nil {
		a.log.Warn("session event publication failed", "streaming", id, "type", typ, "error", err)
	}
}
