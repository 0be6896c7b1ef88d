package embedded

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/store"
)

// The embedded store serves one process, so the nonces of its management API need not be
// shared: they are kept in memory, which costs nothing per request (a durable claim would
// cost an fsync). A restart forgets them; NoncesSince tells the caller to refuse what was
// issued before the store opened, which the previous process may have accepted.

// maxNonces bounds the memory of the claims (~100 bytes each). When it is reached the claim
// closest to expiry is forgotten early; only a request replayed within what was left of its
// window could then pass, and only at sustained request rates above maxNonces per window.
const maxNonces = 500_000

// nonces are the claimed keys, in claim order.
type nonces struct {
	mu     sync.Mutex
	opened time.Time
	seen   map[string]time.Time
	order  []nonceEntry
	head   int
}

type nonceEntry struct {
	key     string
	expires time.Time
}

// ClaimNonce records key until expires and reports whether it was free (in memory).
func (s *Store) ClaimNonce(ctx context.Context, key string, expires time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return s.nonces.claim(key, expires, time.Now()), nil
}

// claim is ClaimNonce at now.
func (n *nonces) claim(key string, expires, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.prune(now)
	if exp, dup := n.seen[key]; dup && exp.After(now) {
		return false
	}
	if len(n.seen) >= maxNonces {
		n.evictOldest()
	}
	n.seen[key] = expires
	n.order = append(n.order, nonceEntry{key: key, expires: expires})
	return true
}

// NoncesSince is when the store opened, to the millisecond (the precision of MAuth
// timestamps): claims made before (by a previous process) are not known.
func (s *Store) NoncesSince() time.Time { return s.nonces.opened }

// PurgeNonces forgets the claims that expired before cutoff.
func (s *Store) PurgeNonces(ctx context.Context, cutoff time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	s.nonces.mu.Lock()
	defer s.nonces.mu.Unlock()
	before := len(s.nonces.seen)
	for k, exp := range s.nonces.seen {
		if exp.Before(cutoff) {
			delete(s.nonces.seen, k)
		}
	}
	return before - len(s.nonces.seen), nil
}

// prune forgets claims from the front of the order whose expiry has passed.
func (n *nonces) prune(now time.Time) {
	for n.head < len(n.order) && !n.order[n.head].expires.After(now) {
		n.evictOldest()
	}
}

// evictOldest forgets the oldest claim (if it is still the key's current claim) and
// compacts the order queue now and then.
func (n *nonces) evictOldest() {
	if n.head >= len(n.order) {
		return
	}
	e := n.order[n.head]
	n.order[n.head] = nonceEntry{}
	n.head++
	if exp, ok := n.seen[e.key]; ok && exp.Equal(e.expires) {
		delete(n.seen, e.key)
	}
	if n.head > 1024 && n.head > len(n.order)/2 {
		n.order = append(n.order[:0:0], n.order[n.head:]...)
		n.head = 0
	}
}
