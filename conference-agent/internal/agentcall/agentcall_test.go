package agentcall

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// call is one request a fake agent received.
type call struct {
	method string
	body   json.RawMessage
}

// newBus returns a local bus closed with the test.
func newBus(t *testing.T) bus.Bus {
	t.Helper()
	b := local.New(local.NewHub(local.Config{}))
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// serve registers a fake agent at id that records its requests into got and answers with h.
func serve(t *testing.T, b bus.Bus, id string, got chan<- call, h func(bus.Request) (any, error)) {
	t.Helper()
	if _, err := b.Serve(id, func(_ context.Context, req bus.Request) (any, error) {
		got <- call{req.Method, req.Body}
		return h(req)
	}); err != nil {
		t.Fatal(err)
	}
}

// runStopper runs s until the returned stop function is called; stop waits for Run.
func runStopper(s *Stopper) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	return func() { cancel(); <-done }
}

func TestAgentCallDecodesAnswersAndKeepsTypedErrors(t *testing.T) {
	b := newBus(t)
	got := make(chan call, 4)
	serve(t, b, "mixing-1", got, func(req bus.Request) (any, error) {
		if req.Method == protocol.MethodXcodeStart {
			return nil, errs.Cluster("No encoder for h265")
		}
		return protocol.SessionStarted{Host: "h", File: "/tmp/f.mkv"}, nil
	})
	res, err := Call[protocol.SessionStarted](context.Background(), b, time.Second, "mixing-1", protocol.MethodRecStart, protocol.RecStart{ID: "1"})
	if err != nil || res.File != "/tmp/f.mkv" || res.Host != "h" {
		t.Fatalf("rec.start = %+v, %v", res, err)
	}
	if c := <-got; c.method != protocol.MethodRecStart || !strings.Contains(string(c.body), `"1"`) {
		t.Fatalf("agent got %s %s", c.method, c.body)
	}
	var e *errs.Error
	if _, err := Call[protocol.XcodeStarted](context.Background(), b, time.Second, "mixing-1", protocol.MethodXcodeStart, protocol.XcodeStart{}); !errors.As(err, &e) || e.Message != "No encoder for h265" {
		t.Fatalf("xcode.start error = %v", err)
	}
	if _, err := Call[protocol.MixState](context.Background(), b, time.Second, "nobody", protocol.MethodMixInputs, protocol.MixInputs{}); err == nil {
		t.Fatal("a call to a missing agent succeeded")
	}
}

func TestAgentCallStopsAreSentAndDrainedAtShutdown(t *testing.T) {
	b := newBus(t)
	got := make(chan call, 8)
	serve(t, b, "mixing-1", got, func(bus.Request) (any, error) { return nil, nil })
	s := NewStopper(b, StopperConfig{Timeout: time.Second, What: "mix", ErrFull: errors.New("full")}, nil)
	stop := runStopper(s)

	s.Stop("mixing-1", protocol.MethodXcodeStop, "sub-video")
	s.Stop("", protocol.MethodMixStop, "r-common") // never scheduled: nothing to send
	select {
	case c := <-got:
		var req protocol.SessionStop
		if c.method != protocol.MethodXcodeStop || json.Unmarshal(c.body, &req) != nil || req.ID != "sub-video" {
			t.Fatalf("got %s %s", c.method, c.body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stop not sent")
	}
	s.Stop("mixing-1", protocol.MethodMixStop, "r-common")
	stop() // Run sends what was queued before returning
	select {
	case c := <-got:
		if c.method != protocol.MethodMixStop {
			t.Fatalf("got %s", c.method)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("queued stop not sent at shutdown")
	}
	s.Stop("mixing-1", protocol.MethodMixStop, "r-other") // after Run: dropped
	select {
	case c := <-got:
		t.Fatalf("unexpected %s", c.method)
	case <-time.After(50 * time.Millisecond):
	}
}

// logRecorder is a slog handler keeping the messages and their "err" attribute.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	msg := rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			msg += ": " + a.Value.String()
		}
		return true
	})
	r.mu.Lock()
	r.msgs = append(r.msgs, msg)
	r.mu.Unlock()
	return nil
}

func TestAgentCallFullQueueDropsAndLogs(t *testing.T) {
	b := newBus(t)
	rec := &logRecorder{}
	s := NewStopper(b, StopperConfig{Timeout: time.Second, What: "session", ErrFull: errors.New("sessions: stop queue full")}, slog.New(rec))
	for i := range DefaultQueue + 2 { // nothing runs: the queue fills up
		s.Stop("recording-1", protocol.MethodRecStop, string(rune('a'+i%26)))
	}
	rec.mu.Lock()
	msgs := append([]string(nil), rec.msgs...)
	rec.mu.Unlock()
	if len(msgs) != 2 || msgs[0] != "dropping session stop: sessions: stop queue full" {
		t.Fatalf("logged %q", msgs)
	}
	if len(s.queue) != DefaultQueue {
		t.Fatalf("queued %d stops, want %d", len(s.queue), DefaultQueue)
	}
}

// TestAgentCallStopsDoNotWaitForEachOther checks that a stop stuck on a slow agent does not
// hold back the stops queued after it, and that Run waits for the stuck one before returning.
func TestAgentCallStopsDoNotWaitForEachOther(t *testing.T) {
	b := newBus(t)
	release, fast := make(chan struct{}), make(chan call, 1)
	slowDone := make(chan struct{})
	if _, err := b.Serve("streaming-slow", func(_ context.Context, req bus.Request) (any, error) {
		defer close(slowDone)
		<-release
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	serve(t, b, "recording-fast", fast, func(bus.Request) (any, error) { return nil, nil })
	s := NewStopper(b, StopperConfig{Timeout: 10 * time.Second, What: "session", ErrFull: errors.New("full")}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()

	s.Stop("streaming-slow", protocol.MethodOutStop, "1")
	s.Stop("recording-fast", protocol.MethodRecStop, "2")
	select {
	case c := <-fast:
		if c.method != protocol.MethodRecStop {
			t.Fatalf("fast agent got %s", c.method)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second stop waited for the first")
	}
	cancel()
	select {
	case <-done:
		t.Fatal("Run returned with a stop in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	<-slowDone
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
}
