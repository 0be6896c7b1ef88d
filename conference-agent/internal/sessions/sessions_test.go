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

func TestSessionsClientCallsAndEvents(t *testing.T) {
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
}
