package auth

import (
	"sync"
	"time"
)

// limiter is a token bucket per service. Only verified services get a bucket, so the map is
// bounded by the number of services.
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: max(1, 2*rate), now: now, buckets: make(map[string]*bucket)}
}

// allow takes one token from the service's bucket.
func (l *limiter) allow(service string) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[service]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[service] = b
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (l *limiter) forget(service string) {
	l.mu.Lock()
	delete(l.buckets, service)
	l.mu.Unlock()
}
