package storetest

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/conclave-rtc/conclave/common/store"
)

var keyTests = []namedTest{
	{"CreateOnce", testKeyCreateOnce},
	{"Concurrent", testKeyConcurrent},
}

func testKeyCreateOnce(t *testing.T, s store.Store) {
	var calls atomic.Int32
	gen := func() string { return "key-" + strconv.Itoa(int(calls.Add(1))) }
	first, err := s.TokenKey(ctx(t), gen)
	wantErr(t, "TokenKey", err, nil)
	if first != "key-1" {
		t.Fatalf("TokenKey = %q, want the generated key-1", first)
	}
	again, err := s.TokenKey(ctx(t), gen)
	wantErr(t, "TokenKey(again)", err, nil)
	if again != first {
		t.Fatalf("TokenKey changed from %q to %q", first, again)
	}
}

// testKeyConcurrent: every first caller generates its own candidate, but all must end up with
// the single stored key, or tokens signed by one node would fail on another.
func testKeyConcurrent(t *testing.T, s store.Store) {
	const callers = 20
	var calls atomic.Int32
	gen := func() string { return "key-" + strconv.Itoa(int(calls.Add(1))) }
	got := make([]string, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	c := ctx(t)
	for i := range callers {
		wg.Go(func() {
			<-start
			k, err := s.TokenKey(c, gen)
			if err != nil {
				t.Errorf("TokenKey: %v", err)
			}
			got[i] = k
		})
	}
	close(start)
	wg.Wait()
	for i, k := range got {
		if k == "" || k != got[0] {
			t.Fatalf("caller %d got %q, caller 0 got %q", i, k, got[0])
		}
	}
}
