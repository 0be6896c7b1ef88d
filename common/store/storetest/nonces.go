package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
)

var nonceTests = []namedTest{
	{"ClaimOnce", testNonceClaimOnce},
	{"ConcurrentClaims", testNonceConcurrentClaims},
	{"ExpiredReclaimedAndPurged", testNonceExpired},
}

func testNonceClaimOnce(t *testing.T, s store.Store) {
	key := "svc\x00" + ids.RandomHex(8)
	exp := time.Now().Add(time.Minute)
	if ok, err := s.ClaimNonce(ctx(t), key, exp); err != nil || !ok {
		t.Fatalf("first claim = %v, %v", ok, err)
	}
	if ok, err := s.ClaimNonce(ctx(t), key, exp); err != nil || ok {
		t.Fatalf("second claim = %v, %v, want false", ok, err)
	}
	if ok, err := s.ClaimNonce(ctx(t), key+"x", exp); err != nil || !ok {
		t.Fatalf("another key = %v, %v", ok, err)
	}
}

// testNonceConcurrentClaims: of many concurrent claims of one key exactly one wins (the
// replayed request is refused however it races the original).
func testNonceConcurrentClaims(t *testing.T, s store.Store) {
	key := ids.RandomHex(12)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			ok, err := s.ClaimNonce(ctx(t), key, time.Now().Add(time.Minute))
			if err != nil {
				t.Errorf("claim: %v", err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d claims won, want 1", wins.Load())
	}
}

func testNonceExpired(t *testing.T, s store.Store) {
	old, live := ids.RandomHex(12), ids.RandomHex(12)
	if ok, err := s.ClaimNonce(ctx(t), old, time.Now().Add(-time.Second)); err != nil || !ok {
		t.Fatalf("claim = %v, %v", ok, err)
	}
	if ok, err := s.ClaimNonce(ctx(t), live, time.Now().Add(time.Hour)); err != nil || !ok {
		t.Fatalf("claim = %v, %v", ok, err)
	}
	// An expired record does not block a new claim of its key.
	if ok, err := s.ClaimNonce(ctx(t), old, time.Now().Add(-time.Millisecond)); err != nil || !ok {
		t.Fatalf("claim of an expired key = %v, %v", ok, err)
	}
	n, err := s.PurgeNonces(ctx(t), time.Now())
	if err != nil || n != 1 {
		t.Fatalf("PurgeNonces = %d, %v, want 1", n, err)
	}
	if ok, err := s.ClaimNonce(ctx(t), live, time.Now().Add(time.Hour)); err != nil || ok {
		t.Fatalf("a live nonce was purged: claim = %v, %v", ok, err)
	}
}
