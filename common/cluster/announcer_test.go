package cluster

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// startAnnouncer runs a until the returned stop is called (or the test ends).
func startAnnouncer(t *testing.T, a *Announcer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once atomic.Bool
	stop = func() {
		if once.CompareAndSwap(false, true) {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("announcer Run: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	return stop
}

func TestClusterAnnouncerJoinsAndLeaves(t *testing.T) {
	b := newFakeBus()
	r, _ := NewRegistry(b, RegistryConfig{}, nil)
	runRegistry(t, r)
	var load atomic.Uint64 // percent
	load.Store(30)
	w := Worker{ID: NewWorkerID("webrtc", "127.0.0.1"), Purpose: "webrtc", ISPs: []string{"isp"}}
	a := NewAnnouncer(b, w, 10*time.Millisecond, func() float64 { return float64(load.Load()) / 100 }, nil)
	stop := startAnnouncer(t, a)

	eventually(t, "worker to join", func() bool { return r.Alive(w.ID) })
	got, _ := r.Lookup(w.ID)
	if got.MaxLoad != DefaultMaxLoad || got.Load != 0.3 || got.Started.IsZero() || got.ISPs[0] != "isp" {
		t.Fatalf("announced %+v", got)
	}
	load.Store(95)
	eventually(t, "load update", func() bool { got, _ := r.Lookup(w.ID); return got.Load == 0.95 })
	stop()
	// The expiry is 3 s, so a removal within 1 s can only come from the leave event.
	start := time.Now()
	eventually(t, "worker to leave", func() bool { return !r.Alive(w.ID) })
	if time.Since(start) > time.Second {
		t.Fatal("worker expired instead of leaving")
	}
}

func TestClusterAnnouncerWorkerIDFormat(t *testing.T) {
	id := NewWorkerID("portal", "host1")
	rest, ok := strings.CutPrefix(id, "portal-")
	if !ok || !strings.HasSuffix(rest, "@host1") || len(rest) != 20+len("@host1") {
		t.Fatalf("NewWorkerID = %q", id)
	}
	if NewWorkerID("portal", "h") == NewWorkerID("portal", "h") {
		t.Fatal("NewWorkerID repeats")
	}
}

func TestClusterAnnouncerRejectsInvalidWorker(t *testing.T) {
	a := NewAnnouncer(newFakeBus(), Worker{Purpose: "portal"}, 0, nil, nil)
	if err := a.Run(context.Background()); !errors.Is(err, ErrInvalidWorker) {
		t.Fatalf("Run = %v, want ErrInvalidWorker", err)
	}
}

func TestClusterAnnouncerSanitizesLoad(t *testing.T) {
	tests := []struct{ in, want float64 }{
		{math.NaN(), 1}, {math.Inf(1), 1}, {math.Inf(-1), 0}, {-0.5, 0}, {0.4, 0.4}, {1.5, 1.5},
	}
	for _, tt := range tests {
		a := NewAnnouncer(newFakeBus(), Worker{ID: "x", Purpose: "p"}, 0, func() float64 { return tt.in }, nil)
		if got := a.current().Load; got != tt.want {
			t.Errorf("load %v announced as %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestClusterScheduleWaitsForWorker(t *testing.T) {
	b := newFakeBus()
	r, _ := NewRegistry(b, RegistryConfig{}, nil)
	runRegistry(t, r)
	type result struct {
		w   Worker
		err error
	}
	res := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w, err := r.Schedule(ctx, "recording", "task", Preference{})
		res <- result{w, err}
	}()
	select {
	case got := <-res:
		t.Fatalf("Schedule returned before any worker: %+v", got)
	case <-time.After(100 * time.Millisecond):
	}
	w := Worker{ID: NewWorkerID("recording", "h"), Purpose: "recording"}
	startAnnouncer(t, NewAnnouncer(b, w, 20*time.Millisecond, nil, nil))
	got := <-res
	if got.err != nil || got.w.ID != w.ID {
		t.Fatalf("Schedule = %+v, %v; want %s", got.w, got.err, w.ID)
	}
}

func TestClusterScheduleTimesOut(t *testing.T) {
	b := newFakeBus()
	r, _ := NewRegistry(b, RegistryConfig{}, nil)
	runRegistry(t, r)
	// An overloaded worker keeps beating: Schedule must still give up at the deadline.
	startAnnouncer(t, NewAnnouncer(b, Worker{ID: "busy", Purpose: "portal"}, 5*time.Millisecond,
		func() float64 { return 0.99 }, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.Schedule(ctx, "portal", "t", Preference{})
	if !errors.Is(err, ErrNoWorker) {
		t.Fatalf("Schedule = %v, want ErrNoWorker", err)
	}
	if d := time.Since(start); d < 140*time.Millisecond || d > 2*time.Second {
		t.Fatalf("Schedule gave up after %v", d)
	}
}

func TestClusterRegistryExpiresSilentWorker(t *testing.T) {
	b := newFakeBus()
	r, _ := NewRegistry(b, RegistryConfig{Expiry: 90 * time.Millisecond}, nil)
	runRegistry(t, r)
	w := Worker{ID: "w", Purpose: "streaming"}
	startAnnouncer(t, NewAnnouncer(b, w, 30*time.Millisecond, nil, nil))
	eventually(t, "worker to join", func() bool { return r.Alive("w") })
	time.Sleep(200 * time.Millisecond) // several expiry periods: beats keep it alive
	if !r.Alive("w") {
		t.Fatal("beating worker expired")
	}
	b.drop.Store(true) // partition: no more beats, and no leave
	// The expiry counts from the last beat the registry heard, which under load may be well
	// before the partition: compare with that beat's time, not with the partition's.
	var lastBeat time.Time
	eventually(t, "worker to expire", func() bool {
		r.mu.Lock()
		if e := r.workers["w"]; e != nil {
			lastBeat = e.seen
		}
		r.mu.Unlock()
		return !r.Alive("w")
	})
	if d := time.Since(lastBeat); d < 90*time.Millisecond {
		t.Fatalf("worker expired %v after its last beat, before the 90ms expiry", d)
	}
	eventually(t, "sweep", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.workers) == 0
	})
}
