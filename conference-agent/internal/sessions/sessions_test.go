package sessions

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
)

func TestClientCallsStopsAndEvents(t *testing.T) {
	hub := local.NewHub(local.Config{})
	b := local.New(hub)
	defer b.Close()
	got := make(chan string, 8)
	if _, err := b.Serve("recording-1", func(_ context.Context, req bus.Request) (any, error) {
		got <- req.Method
		switch req.Method {
		case protocol.MethodRecStart:
			return protocol.SessionStarted{Host: "h", File: "/tmp/f.mkv"}, nil
		case protocol.MethodInStart:
			return protocol.InStarted{Tracks: []protocol.RTCTrack{{ID: "x", Type: "video"}}}, nil
		case protocol.MethodOutStart:
			return nil, errs.Cluster("No a/v frames")
		}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	c := New(b, Timeouts{Start: time.Second}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()

	res, err := c.RecStart(context.Background(), "recording-1", protocol.RecStart{ID: "1"})
	if err != nil || res.File != "/tmp/f.mkv" {
		t.Fatalf("rec.start = %+v, %v", res, err)
	}
	in, err := c.InStart(context.Background(), "recording-1", protocol.InStart{ID: "2"})
	if err != nil || len(in.Tracks) != 1 {
		t.Fatalf("in.start = %+v, %v", in, err)
	}
	var e *errs.Error
	if _, err := c.OutStart(context.Background(), "recording-1", protocol.OutStart{}); !errors.As(err, &e) || e.Message != "No a/v frames" {
		t.Fatalf("out.start error = %v", err)
	}
	if err := c.Update(context.Background(), "nobody", protocol.MethodRecUpdate, protocol.SessionUpdate{}); err == nil {
		t.Fatal("an update to a missing agent succeeded")
	}
	for range 3 {
		<-got
	}
	events := make(chan protocol.SessionEvent, 1)
	sub, err := Listen(b, "conf-1", nil, func(ev protocol.SessionEvent) { events <- ev })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	_ = b.Publish(context.Background(), protocol.SessionTopic("conf-1"), map[string]string{"type": "failed"}) // no id: skipped
	_ = b.Publish(context.Background(), protocol.SessionTopic("conf-1"), protocol.SessionEvent{ID: "1", Type: "failed"})
	select {
	case ev := <-events:
		if ev.ID != "1" {
			t.Fatalf("event = %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}

	c.Stop("recording-1", protocol.MethodRecStop, "1")
	c.Stop("", protocol.MethodRecStop, "1") // unscheduled: nothing to send
	select {
	case m := <-got:
		if m != protocol.MethodRecStop {
			t.Fatalf("got %s", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stop not sent")
	}
	cancel()
	<-done
	c.Stop("recording-1", protocol.MethodRecStop, "2") // after Run: dropped
	select {
	case m := <-got:
		t.Fatalf("unexpected %s", m)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestStopsDoNotWaitForEachOther checks that a stop stuck on a slow agent does not hold
// back the stops queued after it, and that Run waits for the stuck one before returning.
func TestStopsDoNotWaitForEachOther(t *testing.T) {
	hub := local.NewHub(local.Config{})
	b := local.New(hub)
	defer b.Close()
	release, fast := make(chan struct{}), make(chan string, 1)
	slowDone := make(chan struct{})
	if _, err := b.Serve("streaming-slow", func(_ context.Context, req bus.Request) (any, error) {
		defer close(slowDone)
		<-release
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Serve("recording-fast", func(_ context.Context, req bus.Request) (any, error) {
		fast <- req.Method
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	c := New(b, Timeouts{Call: 10 * time.Second}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()

	c.Stop("streaming-slow", protocol.MethodOutStop, "1")
	c.Stop("recording-fast", protocol.MethodRecStop, "2")
	select {
	case m := <-fast:
		if m != protocol.MethodRecStop {
			t.Fatalf("fast agent got %s", m)
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
