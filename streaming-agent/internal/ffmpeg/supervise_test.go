package ffmpeg

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

// script drives a Supervisor: the results start and watch return, in order, and what the
// supervisor reported.
type script struct {
	starts  []error
	watches []Outcome
	mu      sync.Mutex
	events  []string
}

func (sc *script) note(e string) { sc.mu.Lock(); sc.events = append(sc.events, e); sc.mu.Unlock() }

var errStop = errors.New("stopped")

// run supervises the script with sv's bounds and stop channel and returns the events and
// the first start's result.
func (sc *script) run(t *testing.T, sv Supervisor) ([]string, error) {
	t.Helper()
	sv.Name, sv.Retries, sv.Stopped, sv.Log = "job", "retries", errStop, slog.New(slog.DiscardHandler)
	sv.Status = func(r string) { sc.note("status " + r) }
	sv.Failed = func(r string) { sc.note("failed " + r) }
	first := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sv.Run(first, func() (*Process, error) {
			if len(sc.starts) == 0 {
				t.Error("started more often than scripted")
				return nil, errStop
			}
			err := sc.starts[0]
			sc.starts = sc.starts[1:]
			sc.note("start")
			return nil, err
		}, func(*Process) (Outcome, error) {
			if len(sc.watches) == 0 {
				t.Error("watched more often than scripted")
				return Stopped, nil
			}
			why := sc.watches[0]
			sc.watches = sc.watches[1:]
			return why, errors.New("ffmpeg exited")
		})
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	var res error
	select {
	case res = <-first:
	default:
		t.Fatal("no first result")
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.events, res
}

func TestFFmpegSupervisor(t *testing.T) {
	boom := errors.New("no such file")
	for _, tc := range []struct {
		name       string
		sc         *script
		maxRetries int
		first      error
		events     []string
	}{
		{name: "first start fails: no retry", sc: &script{starts: []error{boom}}, maxRetries: 3, first: boom,
			events: []string{"start"}},
		{name: "stopped while starting", sc: &script{starts: []error{errStop}}, maxRetries: 3, first: errStop,
			events: []string{"start"}},
		{name: "exits, restarts and resumes", maxRetries: 3,
			sc: &script{starts: []error{nil, boom, nil}, watches: []Outcome{Exited, Stopped}},
			events: []string{"start", "status ffmpeg exited; retrying in 1ms", "start",
				"status no such file; retrying in 2ms", "start", "status "}},
		{name: "gives up", maxRetries: 1, sc: &script{starts: []error{nil, boom}, watches: []Outcome{Exited}},
			events: []string{"start", "status ffmpeg exited; retrying in 1ms", "start",
				"failed no such file (gave up after 1 retries)"}},
		{name: "restart is no failure", maxRetries: 0, sc: &script{starts: []error{nil, nil}, watches: []Outcome{Restart, Stopped}},
			events: []string{"start", "start"}},
		{name: "fatal", maxRetries: 3, sc: &script{starts: []error{nil}, watches: []Outcome{Fatal}},
			events: []string{"start", "failed ffmpeg exited"}},
		{name: "stop during a restart", maxRetries: 3, sc: &script{starts: []error{nil, errStop}, watches: []Outcome{Exited}},
			events: []string{"start", "status ffmpeg exited; retrying in 1ms", "start"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events, first := tc.sc.run(t, Supervisor{RetryMin: time.Millisecond, RetryMax: 4 * time.Millisecond,
				MaxRetries: tc.maxRetries, Stop: make(chan struct{})})
			if !errors.Is(first, tc.first) || (tc.first == nil) != (first == nil) {
				t.Errorf("first = %v, want %v", first, tc.first)
			}
			if !slices.Equal(events, tc.events) {
				t.Errorf("events\n got %q\nwant %q", events, tc.events)
			}
		})
	}
}

func TestFFmpegSupervisorStopCutsBackoff(t *testing.T) {
	stop := make(chan struct{})
	close(stop)
	sc := &script{starts: []error{nil}, watches: []Outcome{Exited}}
	// With a backoff of an hour, Run returns only because stop cuts it short.
	events, _ := sc.run(t, Supervisor{RetryMin: time.Hour, RetryMax: time.Hour, MaxRetries: 3, Stop: stop})
	if !slices.Equal(events, []string{"start", "status ffmpeg exited; retrying in 1h0m0s"}) {
		t.Fatalf("events %q", events)
	}
}

func TestFFmpegSupervisorDelay(t *testing.T) {
	sv := Supervisor{RetryMin: time.Second, RetryMax: 30 * time.Second}
	for failures, want := range map[int]time.Duration{0: time.Second, 1: time.Second, 2: 2 * time.Second,
		3: 4 * time.Second, 5: 16 * time.Second, 6: 30 * time.Second, 60: 30 * time.Second} {
		if got := sv.Delay(failures); got != want {
			t.Errorf("Delay(%d) = %s, want %s", failures, got, want)
		}
	}
}

func TestFFmpegSupervisorStart(t *testing.T) {
	boom := errors.New("no such file")
	sv := Supervisor{Name: "job", Stopped: errStop, Log: slog.New(slog.DiscardHandler)}
	never := func(*Process) (Outcome, error) { t.Error("watched a failed start"); return Stopped, nil }

	ended := make(chan struct{})
	err := sv.Start(context.Background(), func() (*Process, error) { return nil, boom }, never, func() { close(ended) })
	if !errors.Is(err, boom) {
		t.Fatalf("Start = %v", err)
	}
	<-ended

	// A start that outlasts ctx: Start returns ctx's error, the supervision ends later.
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	ended = make(chan struct{})
	cancel()
	err = sv.Start(ctx, func() (*Process, error) { <-release; return nil, errStop }, never, func() { close(ended) })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Start = %v", err)
	}
	select {
	case <-ended:
		t.Fatal("supervision ended while its start was running")
	default:
	}
	close(release)
	<-ended
}
