package ffmpeg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Outcome is how a watched ffmpeg run ended.
type Outcome int

// Outcomes of a watched run.
const (
	// Stopped: the job was stopped; supervision ends.
	Stopped Outcome = iota
	// Restart: the job wants a new process at once (a source switch); it is not a failure.
	Restart
	// Exited: the process failed; it is started again after a backoff.
	Exited
	// Fatal: the job cannot go on; Failed is reported with the error and supervision ends.
	Fatal
)

// Supervisor keeps a job's ffmpeg running: it restarts a failed process with exponential
// backoff (RetryMin, doubling, capped at RetryMax), reports health while doing so and gives
// up after MaxRetries consecutive failures.
type Supervisor struct {
	// Name is the job kind in log messages ("streaming-in").
	Name string
	// RetryMin and RetryMax bound the backoff; MaxRetries the consecutive failed restarts.
	RetryMin, RetryMax time.Duration
	MaxRetries         int
	// Retries names the attempts in the give-up reason ("retries", "restarts").
	Retries string
	// Stopped is the job's stop error: a start failing with it ends supervision quietly.
	Stopped error
	// Stop is closed when the job stops; it cuts a backoff short.
	Stop <-chan struct{}
	// Status reports a failure being retried (an empty reason: recovered); Failed the end.
	Status, Failed func(reason string)
	Log            *slog.Logger
}

// Start runs the supervision (Run) in a goroutine that calls ended when it is over, and
// waits for the first start's result or ctx's end, whichever comes first. On an error the
// caller stops the job; the supervision then ends on its own.
func (s Supervisor) Start(ctx context.Context, start func() (*Process, error), watch func(*Process) (Outcome, error), ended func()) error {
	first := make(chan error, 1)
	go func() {
		defer ended()
		s.Run(first, start, watch)
	}()
	select {
	case err := <-first:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run starts ffmpeg with start and follows it with watch until the job stops or fails for
// good. The first start's result goes to first: a job that never started is not retried.
// start must leave nothing running when it fails.
func (s Supervisor) Run(first chan<- error, start func() (*Process, error), watch func(*Process) (Outcome, error)) {
	started, failures := false, 0
	for {
		proc, err := start()
		if err == nil {
			if !started {
				first <- nil
			} else if failures > 0 {
				s.Status("")
				s.Log.Info(s.Name + " resumed")
			}
			started, failures = true, 0
			var why Outcome
			why, err = watch(proc)
			switch why {
			case Stopped:
				return
			case Restart:
				continue
			case Fatal:
				s.Failed(err.Error())
				return
			}
		}
		if errors.Is(err, s.Stopped) || !started {
			if !started {
				first <- err
			}
			return
		}
		if failures++; failures > s.MaxRetries {
			s.Failed(fmt.Sprintf("%v (gave up after %d %s)", err, s.MaxRetries, s.Retries))
			return
		}
		if !s.backoff(failures, err) {
			return
		}
	}
}

// Delay is the wait before the next start after failures consecutive failures.
func (s Supervisor) Delay(failures int) time.Duration {
	failures = max(failures, 1)
	delay := s.RetryMin << min(failures-1, 16)
	if delay > s.RetryMax || delay <= 0 {
		delay = s.RetryMax
	}
	return delay
}

// backoff reports the failure and waits before the next start; false means stopped.
func (s Supervisor) backoff(failures int, err error) bool {
	delay := s.Delay(failures)
	msg := fmt.Sprintf("%v; retrying in %s", err, delay)
	s.Log.Warn(s.Name+" interrupted", "reason", msg)
	s.Status(msg)
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-s.Stop:
		return false
	case <-t.C:
		return true
	}
}
