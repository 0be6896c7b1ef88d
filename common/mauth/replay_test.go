package mauth

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestMAuthReplayGuard(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	ts := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).UnixMilli(), 10) }
	g := NewReplayGuard(time.Minute, 100)
	steps := []struct {
		name               string
		service, ts, nonce string
		at                 time.Time
		want               error
	}{
		{"first", "s", ts(0), "n1", now, nil},
		{"replay", "s", ts(0), "n1", now.Add(time.Second), ErrReplay},
		{"other cnonce", "s", ts(0), "n2", now, nil},
		{"other service", "t", ts(0), "n1", now, nil},
		{"too old", "s", ts(-2 * time.Minute), "n3", now, ErrStale},
		{"too new", "s", ts(2 * time.Minute), "n3", now, ErrStale},
		{"not a number", "s", "abc", "n3", now, ErrStale},
		{"edge of window", "s", ts(-time.Minute), "n4", now, nil},
		{"replay still remembered at end of window", "s", ts(0), "n1", now.Add(time.Minute), ErrReplay},
		{"stale after window", "s", ts(0), "n1", now.Add(time.Minute + time.Millisecond), ErrStale},
	}
	for _, st := range steps {
		if err := g.Check(st.service, st.ts, st.nonce, st.at); !errors.Is(err, st.want) {
			t.Fatalf("%s: Check = %v, want %v", st.name, err, st.want)
		}
	}
}

func TestMAuthReplayGuardBounded(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	g := NewReplayGuard(time.Minute, 10)
	for i := range 1000 {
		if err := g.Check("s", strconv.FormatInt(now.UnixMilli(), 10), strconv.Itoa(i), now); err != nil {
			t.Fatal(err)
		}
	}
	if n := g.Len(); n != 10 {
		t.Fatalf("Len = %d, want 10", n)
	}
	if len(g.order)-g.head != 10 || cap(g.order) > 64 {
		t.Fatalf("queue not compacted: len %d head %d cap %d", len(g.order), g.head, cap(g.order))
	}
	// Entries expire after 2×window.
	later := now.Add(3 * time.Minute)
	if err := g.Check("s", strconv.FormatInt(later.UnixMilli(), 10), "x", later); err != nil {
		t.Fatal(err)
	}
	if n := g.Len(); n != 1 {
		t.Fatalf("Len after expiry = %d, want 1", n)
	}
}

func TestMAuthReplayGuardNilAndConcurrent(t *testing.T) {
	var nilGuard *ReplayGuard
	if err := nilGuard.Check("s", "x", "y", time.Now()); err != nil {
		t.Fatalf("nil guard: %v", err)
	}
	g := NewReplayGuard(time.Minute, 1000)
	now := time.Now()
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for range 8 {
		wg.Go(func() {
			for i := range 50 {
				if g.Check("s", ts, strconv.Itoa(i), now) == nil {
					mu.Lock()
					accepted++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if accepted != 50 {
		t.Fatalf("accepted %d, want 50 (each cnonce once)", accepted)
	}
}
