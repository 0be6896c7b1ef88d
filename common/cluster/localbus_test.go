package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/cluster"
)

// TestClusterLocalBus runs announcers and two registries on the real in-process bus, as the
// all-in-one binary does, and schedules from many goroutines at once.
func TestClusterLocalBus(t *testing.T) {
	hub := local.NewHub(local.Config{Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	run := func(f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
	}

	var registries []*cluster.Registry
	for range 2 {
		b := local.New(hub)
		t.Cleanup(func() { _ = b.Close() })
		r, err := cluster.NewRegistry(b, cluster.RegistryConfig{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		run(r.Run)
		<-r.Ready()
		registries = append(registries, r)
	}

	agentCtx, stopAgent := context.WithCancel(ctx)
	ids := map[string]bool{}
	for i, region := range []string{"eu", "us", "us"} {
		b := local.New(hub)
		t.Cleanup(func() { _ = b.Close() })
		w := cluster.Worker{
			ID: cluster.NewWorkerID("webrtc", fmt.Sprint("agent", i)), Purpose: "webrtc",
			Regions: []string{region},
		}
		ids[w.ID] = true
		a := cluster.NewAnnouncer(b, w, 20*time.Millisecond, func() float64 { return 0.1 * float64(i) }, nil)
		actx := ctx
		if i == 0 {
			actx = agentCtx
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.Run(actx); err != nil {
				t.Errorf("announcer: %v", err)
			}
		}()
	}
	waitFor(t, "all agents seen", func() bool {
		return len(registries[0].Workers("webrtc")) == 3 && len(registries[1].Workers("webrtc")) == 3
	})

	var sched sync.WaitGroup
	for g := range 8 {
		sched.Add(1)
		go func() {
			defer sched.Done()
			for i := range 50 {
				r := registries[(g+i)%2]
				sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
				w, err := r.Schedule(sctx, "webrtc", fmt.Sprint("task", g, i%5), cluster.Preference{Region: "eu"})
				scancel()
				if err != nil || !ids[w.ID] || w.Regions[0] != "eu" {
					t.Errorf("Schedule = %+v, %v; want the eu agent", w, err)
					return
				}
			}
		}()
	}
	sched.Wait()

	stopAgent() // the eu agent leaves: the us agents take over
	waitFor(t, "eu agent gone", func() bool {
		return len(registries[0].Workers("webrtc")) == 2 && len(registries[1].Workers("webrtc")) == 2
	})
	for _, r := range registries {
		sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
		w, err := r.Schedule(sctx, "webrtc", "task00", cluster.Preference{Region: "eu"})
		scancel()
		if err != nil || w.Regions[0] != "us" {
			t.Fatalf("after leave Schedule = %+v, %v", w, err)
		}
		sctx, scancel = context.WithTimeout(ctx, 50*time.Millisecond)
		_, err = r.Schedule(sctx, "conference", "room", cluster.Preference{})
		scancel()
		if !errors.Is(err, cluster.ErrNoWorker) {
			t.Fatalf("conference Schedule = %v, want ErrNoWorker", err)
		}
	}
	if n := hub.Dropped(); n != 0 {
		t.Fatalf("hub dropped %d events", n)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
