package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable time source.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newTestRegistry returns a registry on a fake clock, not running.
func newTestRegistry(t *testing.T, cfg RegistryConfig) (*Registry, *fakeClock) {
	t.Helper()
	r, err := NewRegistry(newFakeBus(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	r.now = clock.Now
	return r, clock
}

// runRegistry runs r until the test ends and waits until it is subscribed.
func runRegistry(t *testing.T, r *Registry) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-r.Ready():
	case err := <-done:
		t.Fatalf("Run returned early: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("registry not ready")
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func worker(id, purpose string, load float64) Worker {
	return Worker{ID: id, Purpose: purpose, Load: load, MaxLoad: DefaultMaxLoad}
}

func schedule(t *testing.T, r *Registry, purpose, task string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	w, err := r.Schedule(ctx, purpose, task, Preference{})
	if errors.Is(err, ErrNoWorker) {
		return "-"
	}
	if err != nil {
		t.Fatalf("Schedule: %v", err)
	}
	return w.ID
}

func TestClusterRegistryExpiresAfterThreeMissedBeats(t *testing.T) {
	r, clock := newTestRegistry(t, RegistryConfig{})
	r.beat(worker("w1", "webrtc", 0.1))
	for i := 1; i <= 3; i++ { // three beats missed, still within the expiry
		clock.Advance(time.Second)
		if !r.Alive("w1") {
			t.Fatalf("worker dropped after %d missed beats", i)
		}
	}
	clock.Advance(time.Millisecond)
	if r.Alive("w1") {
		t.Fatal("worker alive 3 s after its last beat")
	}
	if got := schedule(t, r, "webrtc", ""); got != "-" {
		t.Fatalf("scheduled expired worker %s", got)
	}
	r.sweep()
	if n := len(r.workers); n != 0 {
		t.Fatalf("sweep kept %d workers", n)
	}
}

func TestClusterRegistryBeatRefreshes(t *testing.T) {
	r, clock := newTestRegistry(t, RegistryConfig{})
	for range 10 {
		r.beat(worker("w1", "webrtc", 0.1))
		clock.Advance(2 * time.Second)
	}
	if !r.Alive("w1") {
		t.Fatal("worker beating every 2 s was dropped")
	}
}

func TestClusterRegistryAvailability(t *testing.T) {
	r, _ := newTestRegistry(t, RegistryConfig{})
	r.beat(worker("busy", "conference", 0.85))
	if got := schedule(t, r, "conference", ""); got != "-" {
		t.Fatalf("scheduled worker at max load: %s", got)
	}
	r.beat(worker("busy", "conference", 0.84))
	if got := schedule(t, r, "conference", ""); got != "busy" {
		t.Fatalf("scheduled %s, want busy", got)
	}
	if got := schedule(t, r, "portal", ""); got != "-" {
		t.Fatalf("scheduled %s for another purpose", got)
	}
	if ws := r.Workers(""); len(ws) != 1 || ws[0].ID != "busy" {
		t.Fatalf("Workers = %v", ws)
	}
}

func TestClusterRegistryUsesConfiguredStrategy(t *testing.T) {
	tests := []struct {
		strategies map[string]string
		want       []string
	}{
		{nil, []string{"a", "a", "a"}}, // conference: last-used
		{map[string]string{"conference": RoundRobin}, []string{"a", "b", "a"}},
		{map[string]string{"conference": MostUsed}, []string{"b", "b", "b"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.strategies), func(t *testing.T) {
			r, clock := newTestRegistry(t, RegistryConfig{Strategies: tt.strategies})
			r.beat(worker("a", "conference", 0.1))
			clock.Advance(time.Millisecond)
			r.beat(worker("b", "conference", 0.2))
			for i, want := range tt.want {
				if got := schedule(t, r, "conference", ""); got != want {
					t.Fatalf("pick %d = %s, want %s", i, got, want)
				}
			}
		})
	}
}

func TestClusterRegistryTaskStickiness(t *testing.T) {
	r, clock := newTestRegistry(t, RegistryConfig{Strategies: map[string]string{"webrtc": RoundRobin}})
	r.beat(worker("a", "webrtc", 0.1))
	r.beat(worker("b", "webrtc", 0.1))
	steps := []struct {
		do   func()
		task string
		want string
	}{
		{nil, "t1", "a"},
		{nil, "t2", "b"},
		{nil, "t1", "a"}, // reserved
		{nil, "", "a"},   // no task: plain round robin
		{nil, "t1", "a"},
		{func() {
			clock.Advance(59 * time.Second)
			r.beat(worker("a", "webrtc", 0.1))
			r.beat(worker("b", "webrtc", 0.1))
		}, "t1", "a"},
		{func() { r.beat(worker("a", "webrtc", 0.9)) }, "t1", "b"}, // a overloaded: moves
		{func() { r.beat(worker("a", "webrtc", 0.1)) }, "t1", "b"}, // now sticks to b
		{func() { r.Unschedule("webrtc", "t1") }, "t1", "a"},
		{func() { clock.Advance(61 * time.Second); r.beat(worker("b", "webrtc", 0.1)) }, "t1", "b"}, // a expired
	}
	for i, s := range steps {
		if s.do != nil {
			s.do()
		}
		if got := schedule(t, r, "webrtc", s.task); got != s.want {
			t.Fatalf("step %d: task %q on %s, want %s", i, s.task, got, s.want)
		}
	}
}

func TestClusterRegistryReservationExpires(t *testing.T) {
	r, clock := newTestRegistry(t, RegistryConfig{Strategies: map[string]string{"portal": RoundRobin}})
	r.beat(worker("a", "portal", 0.1))
	r.beat(worker("b", "portal", 0.1))
	if got := schedule(t, r, "portal", "t"); got != "a" {
		t.Fatalf("first pick %s", got)
	}
	clock.Advance(DefaultReserveTime + time.Millisecond)
	r.beat(worker("a", "portal", 0.1))
	r.beat(worker("b", "portal", 0.1))
	if got := schedule(t, r, "portal", "t"); got != "b" {
		t.Fatalf("after reservation expiry got %s, want b (next in round robin)", got)
	}
}

func TestClusterRegistryReservationsBounded(t *testing.T) {
	r, clock := newTestRegistry(t, RegistryConfig{MaxReservations: 3})
	r.beat(worker("a", "conference", 0.1))
	for i := range 10 {
		schedule(t, r, "conference", fmt.Sprint("task", i))
		clock.Advance(time.Millisecond)
	}
	if n := len(r.reserved); n != 3 {
		t.Fatalf("%d reservations kept, want 3", n)
	}
	for _, task := range []string{"task7", "task8", "task9"} {
		if _, ok := r.reserved[reservationKey("conference", task)]; !ok {
			t.Fatalf("newest reservation %s evicted", task)
		}
	}
	clock.Advance(DefaultReserveTime + time.Second)
	r.beat(worker("a", "conference", 0.1))
	r.sweep()
	if n := len(r.reserved); n != 0 {
		t.Fatalf("%d expired reservations kept", n)
	}
}

func TestClusterRegistryEvents(t *testing.T) {
	b := newFakeBus()
	r, err := NewRegistry(b, RegistryConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	runRegistry(t, r)
	ctx := context.Background()
	publish := func(topic string, msg any) {
		t.Helper()
		if err := b.Publish(ctx, topic, msg); err != nil {
			t.Fatal(err)
		}
	}
	publish(BeatTopic("portal"), worker("p1", "portal", 0.1))
	publish(BeatTopic("webrtc"), worker("p2", "portal", 0.1))       // purpose mismatch
	publish(BeatTopic("portal"), Worker{Purpose: "portal"})         // no id
	publish(BeatTopic("portal"), json.RawMessage(`"not a worker"`)) // malformed
	publish("cluster.other", worker("p3", "portal", 0.1))
	publish(BeatTopic("portal"), worker("p4", "portal", 0.1))
	eventually(t, "p4 to join", func() bool { return r.Alive("p4") })
	if ws := r.Workers("portal"); len(ws) != 2 || ws[0].ID != "p1" {
		t.Fatalf("Workers = %+v, want p1 and p4", ws)
	}
	publish(LeaveTopic("portal"), worker("p1", "portal", 0.1))
	eventually(t, "p1 to leave", func() bool { return !r.Alive("p1") })
	if !r.Alive("p4") {
		t.Fatal("p4 dropped by p1's leave")
	}
}

func TestClusterRegistryRunTwice(t *testing.T) {
	b := newFakeBus()
	r, _ := NewRegistry(b, RegistryConfig{}, nil)
	runRegistry(t, r)
	if err := r.Run(context.Background()); err == nil {
		t.Fatal("second Run succeeded")
	}
}

func TestClusterRegistryRunUnsubscribes(t *testing.T) {
	b := newFakeBus()
	r, _ := NewRegistry(b, RegistryConfig{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	<-r.Ready()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := b.subscribers(); n != 0 {
		t.Fatalf("%d subscriptions left after Run", n)
	}
}

func TestClusterNewRegistryNeedsBus(t *testing.T) {
	if _, err := NewRegistry(nil, RegistryConfig{}, nil); err == nil {
		t.Fatal("NewRegistry(nil) succeeded")
	}
}
