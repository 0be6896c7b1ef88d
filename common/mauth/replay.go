package mauth

import (
	"fmt"
	"strconv"
	"sync"
	"time"
)

// ReplayGuard rejects requests whose timestamp is outside a window around now, and repeats of a
// (service, timestamp, cnonce) triple inside that window. OWT has this check but ships it
// disabled (serverAuthenticator's checkTimestamp call is commented out), so the management API
// enables it only on request. Call Check only after the signature verified, so that unsigned
// traffic cannot fill the table.
//
// Memory is bounded by maxEntries: when full, the oldest entry is forgotten early, which could
// let that one request be replayed; size the table for the expected request rate × 2 × window.
// A nil *ReplayGuard accepts everything. It is safe for concurrent use.
type ReplayGuard struct {
	window     time.Duration
	maxEntries int

	mu    sync.Mutex
	seen  map[string]time.Time // key → forget-after time
	order []replayEntry        // insertion order; forget-after times are non-decreasing
	head  int                  // first live element of order
}

type replayEntry struct {
	key    string
	expiry time.Time
}

// NewReplayGuard returns a guard accepting timestamps within ±window of now and remembering at
// most maxEntries recent requests (at least 1).
func NewReplayGuard(window time.Duration, maxEntries int) *ReplayGuard {
	if maxEntries < 1 {
		maxEntries = 1
	}
	return &ReplayGuard{window: window, maxEntries: maxEntries, seen: make(map[string]time.Time)}
}

// Check records the request and returns ErrStale when timestamp (milliseconds since the epoch,
// as in the header) is not a number or is more than the window away from now, and ErrReplay
// when the same service, timestamp and cnonce were already accepted.
func (g *ReplayGuard) Check(serviceID, timestamp, cnonce string, now time.Time) error {
	if g == nil {
		return nil
	}
	ms, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not a number", ErrStale, timestamp)
	}
	skew := now.Sub(time.UnixMilli(ms))
	if skew > g.window || skew < -g.window {
		return fmt.Errorf("%w: timestamp is %v away from now", ErrStale, skew)
	}
	key := serviceID + "\x00" + timestamp + "\x00" + cnonce
	g.mu.Lock()
	defer g.mu.Unlock()
	g.prune(now)
	if _, dup := g.seen[key]; dup {
		return ErrReplay
	}
	if len(g.seen) >= g.maxEntries {
		g.evictOldest()
	}
	// A timestamp within ±window stays acceptable until at most now+2×window.
	expiry := now.Add(2 * g.window)
	g.seen[key] = expiry
	g.order = append(g.order, replayEntry{key: key, expiry: expiry})
	return nil
}

// prune forgets entries whose forget-after time has passed.
func (g *ReplayGuard) prune(now time.Time) {
	for g.head < len(g.order) && g.order[g.head].expiry.Before(now) {
		g.evictOldest()
	}
}

// evictOldest forgets the oldest entry and compacts the queue once half of it is dead.
func (g *ReplayGuard) evictOldest() {
	if g.head >= len(g.order) {
		return
	}
	e := g.order[g.head]
	g.order[g.head] = replayEntry{}
	g.head++
	delete(g.seen, e.key) // keys are unique: Check refuses duplicates
	if g.head > len(g.order)/2 {
		g.order = append(g.order[:0], g.order[g.head:]...)
		g.head = 0
	}
}

// Len returns the number of remembered requests.
func (g *ReplayGuard) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.seen)
}
