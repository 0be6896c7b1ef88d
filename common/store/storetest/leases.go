package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
)

var leaseTests = []namedTest{
	{"AcquireRenew", testLeaseAcquireRenew},
	{"HeldByOther", testLeaseHeldByOther},
	{"TakeoverAfterExpiry", testLeaseTakeover},
	{"Release", testLeaseRelease},
	{"Concurrent", testLeaseConcurrent},
	{"ConcurrentTakeover", testLeaseConcurrentTakeover},
}

func testLeaseAcquireRenew(t *testing.T, s store.Store) {
	name := "room-" + ids.ObjectID()
	_, err := s.GetLease(ctx(t), name)
	wantErr(t, "GetLease(none)", err, store.ErrNotFound)
	before := time.Now()
	l, err := s.AcquireLease(ctx(t), name, "agent-a", time.Minute)
	wantErr(t, "AcquireLease", err, nil)
	assertLease(t, l, name, "agent-a", before.Add(time.Minute))
	got, err := s.GetLease(ctx(t), name)
	wantErr(t, "GetLease", err, nil)
	if !sameLease(got, l) {
		t.Fatalf("GetLease = %+v, want %+v", got, l)
	}
	before = time.Now()
	renewed, err := s.AcquireLease(ctx(t), name, "agent-a", time.Hour)
	wantErr(t, "AcquireLease(renew)", err, nil)
	assertLease(t, renewed, name, "agent-a", before.Add(time.Hour))
}

func testLeaseHeldByOther(t *testing.T, s store.Store) {
	name := "room-" + ids.ObjectID()
	held, err := s.AcquireLease(ctx(t), name, "agent-a", time.Minute)
	wantErr(t, "AcquireLease(a)", err, nil)
	cur, err := s.AcquireLease(ctx(t), name, "agent-b", time.Minute)
	wantErr(t, "AcquireLease(b)", err, store.ErrLeaseHeld)
	if !sameLease(cur, held) {
		t.Fatalf("ErrLeaseHeld returned %+v, want the current lease %+v", cur, held)
	}
	got, err := s.GetLease(ctx(t), name)
	wantErr(t, "GetLease", err, nil)
	if !sameLease(got, held) {
		t.Fatalf("lease changed by a refused acquire: %+v", got)
	}
}

func testLeaseTakeover(t *testing.T, s store.Store) {
	name := "room-" + ids.ObjectID()
	_, err := s.AcquireLease(ctx(t), name, "agent-a", 20*time.Millisecond)
	wantErr(t, "AcquireLease(a)", err, nil)
	time.Sleep(50 * time.Millisecond) // let the lease expire
	expired, err := s.GetLease(ctx(t), name)
	wantErr(t, "GetLease(expired)", err, nil)
	if expired.Owner != "agent-a" || expired.Expires.After(time.Now()) {
		t.Fatalf("GetLease(expired) = %+v", expired)
	}
	before := time.Now()
	l, err := s.AcquireLease(ctx(t), name, "agent-b", time.Minute)
	wantErr(t, "AcquireLease(takeover)", err, nil)
	assertLease(t, l, name, "agent-b", before.Add(time.Minute))
	_, err = s.AcquireLease(ctx(t), name, "agent-a", time.Minute)
	wantErr(t, "AcquireLease(old owner)", err, store.ErrLeaseHeld)
}

func testLeaseRelease(t *testing.T, s store.Store) {
	name := "room-" + ids.ObjectID()
	wantErr(t, "ReleaseLease(none)", s.ReleaseLease(ctx(t), name, "agent-a"), nil)
	held, err := s.AcquireLease(ctx(t), name, "agent-a", time.Minute)
	wantErr(t, "AcquireLease", err, nil)
	wantErr(t, "ReleaseLease(not owner)", s.ReleaseLease(ctx(t), name, "agent-b"), nil)
	got, err := s.GetLease(ctx(t), name)
	wantErr(t, "GetLease", err, nil)
	if !sameLease(got, held) {
		t.Fatalf("release by a non-owner changed the lease: %+v", got)
	}
	wantErr(t, "ReleaseLease(owner)", s.ReleaseLease(ctx(t), name, "agent-a"), nil)
	_, err = s.GetLease(ctx(t), name)
	wantErr(t, "GetLease(released)", err, store.ErrNotFound)
	_, err = s.AcquireLease(ctx(t), name, "agent-b", time.Minute)
	wantErr(t, "AcquireLease(after release)", err, nil)
}

// testLeaseConcurrent: agents racing for a free room must elect exactly one owner.
func testLeaseConcurrent(t *testing.T, s store.Store) {
	raceForLease(t, s, "room-"+ids.ObjectID())
}

// testLeaseConcurrentTakeover: agents racing to take over a room whose owner died must also
// elect exactly one owner (the case a non-atomic conditional update gets wrong).
func testLeaseConcurrentTakeover(t *testing.T, s store.Store) {
	for range 3 {
		name := "room-" + ids.ObjectID()
		_, err := s.AcquireLease(ctx(t), name, "dead-agent", time.Millisecond)
		wantErr(t, "AcquireLease(dead)", err, nil)
		time.Sleep(5 * time.Millisecond) // let the lease expire
		raceForLease(t, s, name)
	}
}

func raceForLease(t *testing.T, s store.Store, name string) {
	const agents = 10
	var mu sync.Mutex
	winners := map[string]bool{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	c := ctx(t)
	for i := range agents {
		owner := "agent-" + string(rune('a'+i))
		wg.Go(func() {
			<-start
			l, err := s.AcquireLease(c, name, owner, time.Minute)
			switch {
			case err == nil:
				mu.Lock()
				winners[owner] = true
				mu.Unlock()
			case errors.Is(err, store.ErrLeaseHeld):
				if l.Owner == owner || l.Owner == "" {
					t.Errorf("ErrLeaseHeld for %s with lease %+v", owner, l)
				}
			default:
				t.Errorf("AcquireLease(%s): %v", owner, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d agents acquired the lease: %v", len(winners), winners)
	}
	l, err := s.GetLease(ctx(t), name)
	wantErr(t, "GetLease", err, nil)
	if !winners[l.Owner] {
		t.Fatalf("lease owner %q is not the winner %v", l.Owner, winners)
	}
}

// assertLease checks l and that Expires is the requested deadline, allowing for the call's
// duration and the millisecond precision of stored times.
func assertLease(t testing.TB, l store.Lease, name, owner string, minExpires time.Time) {
	t.Helper()
	if l.Name != name || l.Owner != owner {
		t.Fatalf("lease = %+v, want %s owned by %s", l, name, owner)
	}
	lo := minExpires.Add(-time.Millisecond)
	hi := minExpires.Add(5 * time.Second)
	if l.Expires.Before(lo) || l.Expires.After(hi) {
		t.Fatalf("lease expires %v, want about %v", l.Expires, minExpires)
	}
}

func sameLease(a, b store.Lease) bool {
	return a.Name == b.Name && a.Owner == b.Owner && a.Expires.Equal(b.Expires)
}
