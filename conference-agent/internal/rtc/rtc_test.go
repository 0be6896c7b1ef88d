package rtc

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/protocol"
)

func TestRTCClientCallsAndTerminations(t *testing.T) {
	hub := local.NewHub(local.Config{})
	b := local.New(hub)
	defer b.Close()
	var mu sync.Mutex
	var methods []string
	got := make(chan struct{}, 8)
	if _, err := b.Serve("webrtc-1", func(_ context.Context, req bus.Request) (any, error) {
		mu.Lock()
		methods = append(methods, req.Method)
		mu.Unlock()
		got <- struct{}{}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	c := New(b, time.Second, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	if err := c.Publish(context.Background(), "webrtc-1", protocol.RTCPublish{TransportID: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Control(context.Background(), "nobody", protocol.RTCControl{}); err == nil {
		t.Fatal("a call to a missing agent succeeded")
	}
	c.Terminate("webrtc-1", protocol.RTCOperation{TransportID: "t", OperationID: "op"})
	c.Terminate("webrtc-1", protocol.RTCOperation{TransportID: "t"})
	c.Terminate("", protocol.RTCOperation{TransportID: "t"}) // unplaced transport: nothing to send
	for range 3 {
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatal("calls missing")
		}
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	want := []string{protocol.MethodRTCPublish, protocol.MethodRTCTerminate, protocol.MethodRTCDestroyTransport}
	for i := range want {
		if methods[i] != want[i] {
			t.Fatalf("methods = %v, want %v", methods, want)
		}
	}
}

func TestRTCListen(t *testing.T) {
	hub := local.NewHub(local.Config{})
	b := local.New(hub)
	defer b.Close()
	events := make(chan protocol.RTCEvent, 4)
	sub, err := Listen(b, "conference-1@host.example", nil, func(ev protocol.RTCEvent) { events <- ev })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	topic := protocol.RTCTopic("conference-1@host.example")
	_ = b.Publish(context.Background(), topic, map[string]any{"type": "ready"}) // no transport: dropped
	_ = b.Publish(context.Background(), topic, protocol.RTCEvent{Type: "ready", TransportID: "t1"})
	select {
	case ev := <-events:
		if ev.TransportID != "t1" || ev.Type != "ready" {
			t.Fatalf("event = %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
}
