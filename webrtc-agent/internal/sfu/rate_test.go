package sfu

import (
	"testing"
	"time"
)

func TestRateMeter(t *testing.T) {
	var m rateMeter
	at := time.Unix(100, 0)
	total := uint64(0)
	poll := func(d time.Duration, add uint64) int {
		at = at.Add(d)
		total += add
		return m.rate(total, at)
	}
	if r := poll(0, 0); r != 0 {
		t.Fatalf("first poll %d", r)
	}
	// 12,500 bytes per 250 ms = 400 kbit/s.
	if r := poll(250*time.Millisecond, 12500); r != 0 {
		t.Fatalf("rate before a full window %d", r)
	}
	if r := poll(250*time.Millisecond, 12500); r != 400_000 {
		t.Fatalf("rate %d, want 400000", r)
	}
	// Doubling is followed halfway per window.
	poll(250*time.Millisecond, 25000)
	if r := poll(250*time.Millisecond, 25000); r != 600_000 {
		t.Fatalf("rate %d, want 600000", r)
	}
	// A publisher that stops: 0 once a whole window passed without a byte.
	poll(250*time.Millisecond, 0)
	if r := poll(250*time.Millisecond, 0); r != 0 {
		t.Fatalf("stopped layer rate %d", r)
	}
	// And it comes back.
	poll(250*time.Millisecond, 12500)
	poll(250*time.Millisecond, 12500)
	if r := poll(250*time.Millisecond, 12500); r == 0 {
		t.Fatal("resumed layer still at 0")
	}
}
