package cluster_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/cluster"
)

// serviceRun runs svc in the background and returns a channel with Run's result.
func serviceRun(ctx context.Context, svc cluster.Service) <-chan error {
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	return done
}

// TestClusterServiceLifecycle checks the order of a service's steps: the endpoint answers
// once Started runs; at the end the loops are told to stop and the endpoint is closed before
// Drain runs, and Run returns after every loop.
func TestClusterServiceLifecycle(t *testing.T) {
	b := local.New(local.NewHub(local.Config{}))
	t.Cleanup(func() { _ = b.Close() })
	started, loopDone := make(chan struct{}), make(chan struct{})
	var loopCtx context.Context
	ctxSet := make(chan struct{})
	drained := false
	svc := cluster.Service{
		Bus: b, ID: "svc-1",
		Handler: func(context.Context, bus.Request) (any, error) { return "pong", nil },
		Loops: []func(context.Context) error{func(ctx context.Context) error {
			loopCtx = ctx
			close(ctxSet)
			<-ctx.Done()
			time.Sleep(10 * time.Millisecond) // a loop that takes a while to end
			close(loopDone)
			return nil
		}},
		Started: func() { close(started) },
		Drain: func() {
			<-ctxSet
			if loopCtx.Err() == nil {
				t.Error("Drain ran before the loops were told to stop")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			if err := b.Call(ctx, "svc-1", "ping", nil, nil); err == nil {
				t.Error("the endpoint answered during Drain")
			}
			drained = true
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := serviceRun(ctx, svc)
	<-started
	var res string
	if err := b.Call(context.Background(), "svc-1", "ping", nil, &res); err != nil || res != "pong" {
		t.Fatalf("call = %q, %v", res, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	select {
	case <-loopDone:
	default:
		t.Fatal("Run returned before its loop")
	}
	if !drained {
		t.Fatal("Run did not drain")
	}
}

func TestClusterServiceLoopFailureEndsRun(t *testing.T) {
	b := local.New(local.NewHub(local.Config{}))
	t.Cleanup(func() { _ = b.Close() })
	boom := errors.New("listener broke")
	other := make(chan struct{})
	drained := false
	svc := cluster.Service{
		Bus: b, ID: "svc-2",
		Handler: func(context.Context, bus.Request) (any, error) { return nil, nil },
		Loops: []func(context.Context) error{
			func(context.Context) error { return boom },
			func(ctx context.Context) error { <-ctx.Done(); close(other); return nil },
		},
		Drain: func() { drained = true },
	}
	select {
	case err := <-serviceRun(context.Background(), svc):
		if !errors.Is(err, boom) {
			t.Fatalf("Run = %v, want %v", err, boom)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a failed loop did not end Run")
	}
	select {
	case <-other:
	default:
		t.Fatal("Run returned before its other loop")
	}
	if !drained {
		t.Fatal("Run did not drain")
	}
}

func TestClusterServiceRefusals(t *testing.T) {
	b := local.New(local.NewHub(local.Config{}))
	t.Cleanup(func() { _ = b.Close() })
	h := func(context.Context, bus.Request) (any, error) { return nil, nil }
	if err := (cluster.Service{Bus: b, ID: "x"}).Run(context.Background()); err == nil {
		t.Fatal("a service without a handler ran")
	}
	_ = b.Close()
	err := (cluster.Service{Bus: b, ID: "svc-3", Handler: h}).Run(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), "serve svc-3: ") {
		t.Fatalf("Run on a closed bus = %v", err)
	}
}
