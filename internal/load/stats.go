package load

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// FreezeGap is the pause between two decoded video frames that counts as a freeze.
const FreezeGap = 500 * time.Millisecond

// LatencySummary is the distribution of a set of durations, in milliseconds.
type LatencySummary struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50Ms"`
	P95  float64 `json:"p95Ms"`
	P99  float64 `json:"p99Ms"`
	Max  float64 `json:"maxMs"`
	Mean float64 `json:"meanMs"`
}

// latencies collects durations; safe for concurrent use.
type latencies struct {
	mu sync.Mutex
	ds []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ds = append(l.ds, d)
}

// summary returns the nearest-rank percentiles of what was added.
func (l *latencies) summary() LatencySummary {
	l.mu.Lock()
	s := slices.Clone(l.ds)
	l.mu.Unlock()
	return summarize(s)
}

func summarize(s []time.Duration) LatencySummary {
	if len(s) == 0 {
		return LatencySummary{}
	}
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return LatencySummary{N: len(s), P50: ms(percentile(s, 0.50)), P95: ms(percentile(s, 0.95)),
		P99: ms(percentile(s, 0.99)), Max: ms(s[len(s)-1]), Mean: ms(sum / time.Duration(len(s)))}
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }

// seqTracker counts the packets of one RTP stream and the sequence numbers missing from it.
// It is used by the track's reading goroutine only.
type seqTracker struct {
	started  bool
	last     uint16 // highest sequence number seen
	cycles   int64  // wraps of the sequence number
	first    int64  // extended first sequence number
	received int64
}

// push records one packet's sequence number. Packets that arrive late (NACK
// retransmissions, reordering) count as received without moving the highest number.
func (t *seqTracker) push(seq uint16) {
	t.received++
	if !t.started {
		t.started, t.last, t.first = true, seq, int64(seq)
		return
	}
	diff := seq - t.last
	if diff == 0 || diff >= 0x8000 { // duplicate or older than the highest
		return
	}
	if seq < t.last {
		t.cycles++
	}
	t.last = seq
}

// lost returns how many packets between the first and the highest were never received
// (never negative: duplicates may exceed the expected count).
func (t *seqTracker) lost() int64 {
	if !t.started {
		return 0
	}
	expected := t.cycles<<16 + int64(t.last) - t.first + 1
	return max(0, expected-t.received)
}

// freezeTracker counts pauses longer than FreezeGap between decoded frames, after the first.
type freezeTracker struct {
	last    time.Time
	freezes int64
}

// frame records a decoded frame at now and reports whether it is the first.
func (f *freezeTracker) frame(now time.Time) bool {
	first := f.last.IsZero()
	if !first && now.Sub(f.last) > FreezeGap {
		f.freezes++
	}
	f.last = now
	return first
}

// pending reports whether a freeze is going on at now (frames were seen, none recently).
func (f *freezeTracker) pending(now time.Time) bool {
	return !f.last.IsZero() && now.Sub(f.last) > FreezeGap
}

// errorCounts counts errors by kind; safe for concurrent use.
type errorCounts struct {
	mu     sync.Mutex
	counts map[string]int
	first  map[string]string // the first message of each kind, for the report
}

func (e *errorCounts) add(kind string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.counts == nil {
		e.counts, e.first = map[string]int{}, map[string]string{}
	}
	e.counts[kind]++
	if _, ok := e.first[kind]; !ok && err != nil {
		e.first[kind] = err.Error()
	}
}

func (e *errorCounts) snapshot() (map[string]int, map[string]string, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	counts, first, total := map[string]int{}, map[string]string{}, 0
	for k, v := range e.counts {
		counts[k] = v
		total += v
	}
	for k, v := range e.first {
		first[k] = v
	}
	return counts, first, total
}

// totals are the live counters every track updates, read by the progress printer and the
// measurement window.
type totals struct {
	packets     atomic.Int64
	bytes       atomic.Int64
	videoFrames atomic.Int64
	pubsJoined  atomic.Int64
	subsJoined  atomic.Int64 // subscribers with the first frame of every subscription
	subsLive    atomic.Int64 // subscriptions receiving media
}
