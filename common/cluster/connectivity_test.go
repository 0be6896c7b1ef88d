package cluster

import (
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
)

// flakyBus is a fakeBus whose broker connection the test takes down and brings back.
type flakyBus struct {
	*fakeBus
	mu    sync.Mutex
	up    bool
	since time.Time
}

var _ bus.Connectivity = (*flakyBus)(nil)

func (b *flakyBus) Connected() (bool, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.up, b.since
}

func (b *flakyBus) set(up bool, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.up, b.since = up, at
}

// TestClusterRegistryOutageKeepsWorkers: beats missed while the registry's own bus was down
// do not expire workers; after the reconnection each worker has one more expiry to beat,
// and a worker that stays silent then expires.
func TestClusterRegistryOutageKeepsWorkers(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	fb := &flakyBus{fakeBus: newFakeBus(), up: true, since: clock.Now()}
	r, err := NewRegistry(fb, RegistryConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.now = clock.Now
	r.beat(worker("w1", "webrtc", 0.1))
	r.beat(worker("w2", "webrtc", 0.1))
	clock.Advance(time.Second)
	fb.set(false, clock.Now())
	clock.Advance(30 * time.Second) // a long outage
	r.sweep()
	if !r.Alive("w1") || !r.Alive("w2") || len(r.Workers("webrtc")) != 2 {
		t.Fatal("workers expired while the registry could not hear them")
	}
	fb.set(true, clock.Now())
	clock.Advance(DefaultExpiry + DefaultExpiry/2) // past one expiry, within the grace
	r.beat(worker("w1", "webrtc", 0.1))            // w1 is back; w2 died during the outage
	if !r.Alive("w2") {
		t.Fatal("w2 expired within its grace after the reconnection")
	}
	clock.Advance(DefaultExpiry)
	r.sweep()
	if !r.Alive("w1") {
		t.Fatal("w1 expired although it beat after the reconnection")
	}
	if r.Alive("w2") {
		t.Fatal("w2 still live two expiries after the reconnection without a beat")
	}
}

// TestClusterRegistryNoGraceForLaterSilence: a worker that beat after the connection was
// established expires on the normal schedule.
func TestClusterRegistryNoGraceForLaterSilence(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	fb := &flakyBus{fakeBus: newFakeBus(), up: true, since: clock.Now()}
	r, err := NewRegistry(fb, RegistryConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.now = clock.Now
	clock.Advance(time.Second)
	r.beat(worker("w1", "webrtc", 0.1))
	clock.Advance(DefaultExpiry + time.Millisecond)
	if r.Alive("w1") {
		t.Fatal("worker alive after a full expiry without beats on a connected bus")
	}
}
