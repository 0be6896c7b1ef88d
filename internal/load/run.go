package load

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// cleanupTimeout bounds the leave/unpublish/delete phase at the end of a run.
const cleanupTimeout = 30 * time.Second

// runner holds the state of one run.
type runner struct {
	cfg      Config
	api      *API
	webrtc   *webrtc.API
	smp      sampler
	progress io.Writer

	tot        totals
	joinLat    latencies // subscribers: token → first frame of each subscription
	publishLat latencies // publishers: token → publication announced
	meshLat    latencies // publishers' subscriptions: request → first frame
	errs       errorCounts
	phase      atomic.Value // string
	started    time.Time

	mu         sync.Mutex
	publishers []*member
	members    []*member // everyone still joined, for the cleanup
	recordings []recordingRef
	subsOK     int // subscribers' subscriptions that delivered their first frame
	meshSubs   atomic.Int64
	seed       atomic.Uint64 // of the browser-like publishers' losses
	lost       int64
	freezes    int64
	pairs      map[string]int // ICE candidate pair kinds of the connected PeerConnections
}

type recordingRef struct{ room, id string }

// Run executes one load run and returns its report. Progress lines go to progress once per
// second unless cfg.Quiet. The run's own failures (rooms that cannot be created, unreadable
// server stats) are returned as errors; participant failures are counted in the report.
func Run(ctx context.Context, cfg Config, progress io.Writer) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	wapi, err := newWebRTCAPI(cfg.Loopback, cfg.TCP, cfg.Relay)
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, api: NewAPI(cfg.API, cfg.ServiceID, cfg.Key), webrtc: wapi,
		smp: sampler{ticks: clockTicks()}, progress: progress, started: time.Now()}
	if cfg.ServerPID > 0 {
		r.smp.pid = strconv.Itoa(cfg.ServerPID)
	}
	r.phase.Store("rooms")
	stop := r.startProgress()
	defer stop()
	// The run's keep-alive connections to the management API end with it: a run inside a
	// longer-lived process (a test's churn) would otherwise leave one open per run.
	defer r.api.http.CloseIdleConnections()
	return r.run(ctx)
}

func (r *runner) run(ctx context.Context) (*Report, error) {
	rooms, err := r.createRooms(ctx)
	if err != nil {
		return nil, err
	}
	defer r.cleanup(rooms)
	rep := &Report{Config: r.cfg}
	if rep.Server.RSSStartKiB, err = r.smp.rss(); err != nil {
		return nil, err
	}
	r.phase.Store("publishing")
	r.runJobs(ctx, r.publisherJobs(rooms))
	r.startRecordings(ctx, rep)
	if rep.Server.RSSBeforeSubscribersKiB, err = r.smp.rss(); err != nil {
		return nil, err
	}
	r.phase.Store("subscribing")
	r.runJobs(ctx, r.subscriberJobs(rooms))
	rep.JoinPhaseSeconds = time.Since(r.started).Seconds()
	if err := r.measure(ctx, rep); err != nil {
		return nil, err
	}
	r.finish(rep)
	return rep, nil
}

func (r *runner) createRooms(ctx context.Context) ([]*roomState, error) {
	rooms := make([]*roomState, r.cfg.Rooms)
	for i := range rooms {
		var options map[string]any
		if r.cfg.Mixed {
			options = map[string]any{"autoMix": true}
		}
		id, err := r.api.CreateRoom(ctx, fmt.Sprintf("load-%d", i), options)
		if err != nil {
			for _, room := range rooms[:i] {
				_ = r.api.DeleteRoom(context.WithoutCancel(ctx), room.id)
			}
			return nil, fmt.Errorf("load: create room: %w", err)
		}
		rooms[i] = &roomState{id: id}
	}
	return rooms, nil
}

// job is one participant to start.
type job struct {
	subscriber bool
	start      func(ctx context.Context) (*member, error)
}

// publisherJobs interleave the rooms, so they fill evenly.
func (r *runner) publisherJobs(rooms []*roomState) []job {
	var jobs []job
	for i := range r.cfg.Publishers {
		for j, room := range rooms {
			user := fmt.Sprintf("pub-%d-%d", j, i)
			jobs = append(jobs, job{start: func(ctx context.Context) (*member, error) {
				m, err := r.startPublisher(ctx, room, user)
				if err == nil {
					r.tot.pubsJoined.Add(1)
				}
				return m, err
			}})
		}
	}
	return jobs
}

// subscriberJobs are the subscribers, then (with Mesh) each publisher's subscriptions to the
// others of its room.
func (r *runner) subscriberJobs(rooms []*roomState) []job {
	var jobs []job
	for i := range r.cfg.Subscribers {
		for j, room := range rooms {
			user := fmt.Sprintf("sub-%d-%d", j, i)
			jobs = append(jobs, job{subscriber: true, start: func(ctx context.Context) (*member, error) {
				m, err := r.startSubscriber(ctx, room, user)
				if err == nil {
					r.tot.subsJoined.Add(1)
				}
				return m, err
			}})
		}
	}
	if !r.cfg.Mesh {
		return jobs
	}
	r.mu.Lock()
	pubs := append([]*member(nil), r.publishers...)
	r.mu.Unlock()
	for _, m := range pubs {
		jobs = append(jobs, job{start: func(ctx context.Context) (*member, error) {
			var others []string
			for _, id := range m.room.streamIDs() {
				if id != m.stream {
					others = append(others, id)
				}
			}
			ctx, cancel := context.WithTimeout(ctx, r.cfg.JoinTimeout)
			defer cancel()
			err := r.subscribeAll(ctx, m, others, time.Now(), &r.meshLat)
			r.meshSubs.Add(int64(readyCount(m.subs)))
			return nil, err
		}})
	}
	return jobs
}

// runJobs starts the jobs at the join rate, at most MaxJoining at a time, and waits for all.
func (r *runner) runJobs(ctx context.Context, jobs []job) {
	var interval time.Duration
	if r.cfg.JoinRate > 0 {
		interval = time.Duration(float64(time.Second) / r.cfg.JoinRate)
	}
	var sem chan struct{}
	if r.cfg.MaxJoining > 0 {
		sem = make(chan struct{}, r.cfg.MaxJoining)
	}
	var wg sync.WaitGroup
	next := time.Now()
	for _, j := range jobs {
		if !sleepCtx(ctx, time.Until(next)) {
			break
		}
		next = next.Add(interval)
		if sem != nil {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				break
			}
		}
		wg.Go(func() {
			if sem != nil {
				defer func() { <-sem }()
			}
			r.runJob(ctx, j)
		})
	}
	wg.Wait()
}

// runJob starts one participant and records it (or its error).
func (r *runner) runJob(ctx context.Context, j job) {
	if j.subscriber && r.cfg.Jitter > 0 && !sleepCtx(ctx, rand.N(r.cfg.Jitter)) {
		return
	}
	m, err := j.start(ctx)
	if err != nil {
		r.errs.add(errKind(err), err)
	}
	if m == nil {
		return
	}
	if j.subscriber {
		r.mu.Lock()
		r.subsOK += readyCount(m.subs)
		r.mu.Unlock()
	}
	if j.subscriber && r.cfg.LeaveAfterJoin {
		r.collect(m)
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := m.leave(lctx); err != nil {
			r.errs.add("leave", err)
		}
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.members = append(r.members, m)
	if !j.subscriber {
		r.publishers = append(r.publishers, m)
	}
}

// sleepCtx sleeps d and reports whether ctx is still alive.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// startRecordings starts cfg.Recordings mkv recordings, round-robin over the publications.
func (r *runner) startRecordings(ctx context.Context, rep *Report) {
	r.mu.Lock()
	pubs := append([]*member(nil), r.publishers...)
	r.mu.Unlock()
	if r.cfg.Recordings == 0 || len(pubs) == 0 {
		return
	}
	r.phase.Store("recording")
	audio, video := "", ""
	for i := range r.cfg.Recordings {
		m := pubs[i%len(pubs)]
		if r.cfg.Audio != "none" {
			audio = m.stream
		}
		if r.cfg.Video != "none" {
			video = m.stream
		}
		id, err := r.api.StartRecording(ctx, m.room.id, audio, video)
		if err != nil {
			r.errs.add("recording", err)
			continue
		}
		r.mu.Lock()
		r.recordings = append(r.recordings, recordingRef{room: m.room.id, id: id})
		r.mu.Unlock()
		rep.RecordingsStarted++
	}
}

// cleanup leaves every member, stops the recordings and deletes the rooms, bounded by
// cleanupTimeout.
func (r *runner) cleanup(rooms []*roomState) {
	r.phase.Store("cleanup")
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	r.mu.Lock()
	members, recs := r.members, r.recordings
	r.members, r.recordings = nil, nil
	r.mu.Unlock()
	for _, rec := range recs {
		_ = r.api.StopRecording(ctx, rec.room, rec.id)
	}
	var wg sync.WaitGroup
	for _, m := range members {
		if m.pub == nil {
			wg.Go(func() { _ = m.leave(ctx) })
		}
	}
	wg.Wait()
	for _, m := range members {
		if m.pub != nil {
			wg.Go(func() { _ = m.leave(ctx) })
		}
	}
	wg.Wait()
	for _, room := range rooms {
		_ = r.api.DeleteRoom(ctx, room.id)
	}
}

// startProgress prints one line per second until the returned stop is called.
func (r *runner) startProgress() (stop func()) {
	if r.cfg.Quiet || r.progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		lastPkts, lastFrames := int64(0), int64(0)
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			p, f := r.tot.packets.Load(), r.tot.videoFrames.Load()
			_, _, nerr := r.errs.snapshot()
			fmt.Fprintf(r.progress, "[load %4.0fs] %-11s publishers %d/%d subscribers %d/%d subscriptions %d  %6d pkt/s %6d frames/s  errors %d\n",
				time.Since(r.started).Seconds(), r.phase.Load(), r.tot.pubsJoined.Load(), r.cfg.Rooms*r.cfg.Publishers,
				r.tot.subsJoined.Load(), r.cfg.Rooms*r.cfg.Subscribers, r.tot.subsLive.Load(), p-lastPkts, f-lastFrames, nerr)
			lastPkts, lastFrames = p, f
		}
	})
	return func() { close(done); wg.Wait() }
}

// readyCount counts the subscriptions that delivered their first frame.
func readyCount(subs []*subState) int {
	n := 0
	for _, s := range subs {
		select {
		case <-s.ready:
			n++
		default:
		}
	}
	return n
}
