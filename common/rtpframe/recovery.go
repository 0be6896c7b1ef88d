package rtpframe

import "time"

// Keyframe recovery defaults: a consumer waiting for a keyframe asks again after
// DefaultRetryMin, doubling up to DefaultRetryMax, for as long as it waits (a request can
// be lost, throttled, or answered by a keyframe that is itself lost); a wait longer than
// DefaultStallAfter is reported, then every DefaultStallRepeat.
const (
	DefaultRetryMin    = 250 * time.Millisecond
	DefaultRetryMax    = 2 * time.Second
	DefaultStallAfter  = 3 * time.Second
	DefaultStallRepeat = 10 * time.Second
)

// Stall describes a long wait for a keyframe, reported through Options.Stalled.
type Stall struct {
	Waited    time.Duration // since the wait began
	Requests  uint64        // keyframe requests made during the wait
	Dropped   uint64        // frames dropped during the wait
	Recovered bool          // the keyframe arrived: the wait is over
}

// recovery runs the keyframe requests of one wait. It is driven by packet arrival times,
// so it needs no goroutine: a source that sends nothing has nothing to recover.
type recovery struct {
	opt *Options

	waiting  bool
	since    time.Time
	next     time.Time // next request
	backoff  time.Duration
	stallAt  time.Time // next stall report
	stalled  bool      // a stall was reported during this wait
	requests uint64
	dropped  uint64
}

// begin starts a wait (if none runs) and asks for a keyframe at once unless quiet (the
// keyframe is already arriving); a quiet wait asks after RetryMin.
func (r *recovery) begin(now time.Time, st *Stats, quiet bool) {
	if r.waiting {
		return
	}
	*r = recovery{opt: r.opt, waiting: true, since: now, backoff: r.opt.RetryMin, stallAt: now.Add(r.opt.StallAfter)}
	st.KeyWaits++
	if quiet {
		r.next = now.Add(r.opt.RetryMin)
		return
	}
	r.request(now, st)
}

// request asks for a keyframe and schedules the next request.
func (r *recovery) request(now time.Time, st *Stats) {
	r.requests++
	st.KeyRequests++
	r.next = now.Add(r.backoff)
	r.backoff = min(2*r.backoff, r.opt.RetryMax)
	r.opt.Keyframe()
}

// tick is called for every packet during a wait: it asks again when the back-off is over
// and reports a stall.
func (r *recovery) tick(now time.Time, st *Stats) {
	if !r.waiting {
		return
	}
	if !now.Before(r.next) {
		r.request(now, st)
	}
	if !now.Before(r.stallAt) {
		r.stalled = true
		r.stallAt = now.Add(r.opt.StallRepeat)
		st.Stalls++
		r.report(now, false)
	}
}

// drop counts a frame dropped during the wait.
func (r *recovery) drop() {
	if r.waiting {
		r.dropped++
	}
}

// end finishes the wait at a keyframe.
func (r *recovery) end(now time.Time, st *Stats) {
	if !r.waiting {
		return
	}
	r.waiting = false
	st.LongestWait = max(st.LongestWait, now.Sub(r.since))
	if r.stalled {
		r.report(now, true)
	}
}

func (r *recovery) report(now time.Time, recovered bool) {
	if r.opt.Stalled != nil {
		r.opt.Stalled(Stall{Waited: now.Sub(r.since), Requests: r.requests, Dropped: r.dropped, Recovered: recovered})
	}
}

// waited returns how long the current wait has lasted at now (0 when not waiting).
func (r *recovery) waited(now time.Time) time.Duration {
	if !r.waiting {
		return 0
	}
	return now.Sub(r.since)
}
