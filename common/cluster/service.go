package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/conclave-rtc/conclave/common/bus"
)

// Service is an agent's RPC endpoint and the loops that run beside it (its Announcer, a
// media-link server): the part of an agent's Run every agent shares.
type Service struct {
	// Bus serves Handler at ID, the agent's worker id.
	Bus     bus.Bus
	ID      string
	Handler bus.Handler
	// Loops run until their context ends (e.g. Announcer.Run, medialink.Server.Serve); the
	// first to return ends the service and its error is Run's.
	Loops []func(context.Context) error
	// Started, if set, is called once the endpoint serves and the loops run.
	Started func()
	// Drain, if set, is called once the loops were told to stop (the Announcer leaves the
	// cluster, a media-link server closes its links) and the endpoint stopped taking
	// requests: it stops the agent's sessions.
	Drain func()
}

// Run serves the endpoint and runs the loops until ctx ends or a loop returns; then it
// stops the loops, closes the endpoint, drains and returns once every loop has returned.
func (s Service) Run(ctx context.Context) error {
	if s.Bus == nil || s.Handler == nil || s.ID == "" {
		return errors.New("cluster: a service needs a bus, an id and a handler")
	}
	sub, err := s.Bus.Serve(s.ID, s.Handler)
	if err != nil {
		return fmt.Errorf("serve %s: %w", s.ID, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, len(s.Loops))
	for _, run := range s.Loops {
		wg.Go(func() { errc <- run(ctx) })
	}
	if s.Started != nil {
		s.Started()
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	cancel()
	_ = sub.Close()
	if s.Drain != nil {
		s.Drain()
	}
	wg.Wait()
	return runErr
}
