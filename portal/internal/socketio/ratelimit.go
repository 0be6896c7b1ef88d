package socketio

import (
	"sync"
	"time"
)

// abuseWindow is the period over which dropped events are counted before a socket is
// closed for flooding.
const abuseWindow = 10 * time.Second

// rateVerdict is the outcome of offering one event to a rateLimiter.
type rateVerdict int

const (
	rateAllow rateVerdict = iota // run the event
	rateDrop                     // drop the event silently
	rateAbuse                    // drop the event and close the socket
)

// rateLimiter is a token bucket with an abuse counter: events beyond the bucket are
// dropped, and burst drops within abuseWindow mark the peer as abusive.
type rateLimiter struct {
	mu          sync.Mutex
	rate        float64
	burst       float64
	tokens      float64
	last        time.Time
	dropped     int
	windowStart time.Time
}

// newRateLimiter returns a full bucket, or nil (no limit) when rate is negative.
func newRateLimiter(rate float64, burst int, now time.Time) *rateLimiter {
	if rate < 0 {
		return nil
	}
	return &rateLimiter{rate: rate, burst: float64(burst), tokens: float64(burst), last: now, windowStart: now}
}

// offer takes one token if available and classifies the event.
func (l *rateLimiter) offer(now time.Time) rateVerdict {
	if l == nil {
		return rateAllow
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
	if l.tokens >= 1 {
		l.tokens--
		return rateAllow
	}
	if now.Sub(l.windowStart) > abuseWindow {
		l.windowStart, l.dropped = now, 0
	}
	l.dropped++
	if float64(l.dropped) >= l.burst {
		return rateAbuse
	}
	return rateDrop
}
