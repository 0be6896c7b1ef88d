package out

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/ffmpeg"
)

// Job is one running streaming-out.
type Job struct {
	cfg  Config
	spec protocol.OutStart
	imp  Importer
	rep  Reporter
	log  *slog.Logger
	dir  string

	mu    sync.Mutex
	feeds []*feed         // audio first, then video
	proc  *ffmpeg.Process // the current ffmpeg, nil while down

	restart  chan struct{} // a source switch asks for a new ffmpeg
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	links    sync.WaitGroup // link goroutines
}

// New validates spec; it starts nothing.
func New(cfg Config, spec protocol.OutStart, imp Importer, rep Reporter) (*Job, error) {
	if err := Validate(spec); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if rep.Status == nil {
		rep.Status = func(string) {}
	}
	if rep.Failed == nil {
		rep.Failed = func(string) {}
	}
	return &Job{cfg: cfg, spec: spec, imp: imp, rep: rep,
		log:     cfg.Logger.With("streaming", spec.ID, "url", ffmpeg.Redact(spec.URL)),
		restart: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// ID returns the streaming-out id.
func (j *Job) ID() string { return j.spec.ID }

// Start imports the sources and runs ffmpeg; it returns once ffmpeg opened its output and
// media flows, or with the reason it could not. A failed Start leaves nothing running.
func (j *Job) Start(ctx context.Context) error {
	feeds, err := j.importAll(ctx, j.spec.Audio, j.spec.Video)
	if err != nil {
		return err
	}
	j.mu.Lock()
	j.feeds = feeds
	j.mu.Unlock()
	for _, f := range feeds {
		j.runFeed(f)
	}
	dir, err := os.MkdirTemp(j.cfg.WorkDir, "out-")
	if err != nil {
		j.closeFeeds(feeds, "start failed")
		j.links.Wait()
		return fmt.Errorf("streaming-out: work dir: %w", err)
	}
	j.mu.Lock()
	j.dir = dir
	j.mu.Unlock()
	if err := j.supervise(ctx); err != nil {
		j.Stop()
		return err
	}
	return nil
}

// importAll imports the requested kinds; on failure it closes what it imported.
func (j *Job) importAll(ctx context.Context, audio, video *protocol.SessionTrack) ([]*feed, error) {
	var feeds []*feed
	for _, k := range []struct {
		kind string
		t    *protocol.SessionTrack
	}{{"audio", audio}, {"video", video}} {
		if k.t == nil {
			continue
		}
		l, info, err := j.imp(ctx, k.t.Source)
		if err == nil && info.Kind != k.kind {
			l.Close("wrong kind")
			err = fmt.Errorf("%w: track %s is %s, not %s", ErrInvalid, k.t.Source.TrackID, info.Kind, k.kind)
		}
		if err != nil {
			j.closeFeeds(feeds, "import failed")
			return nil, err
		}
		feeds = append(feeds, newFeed(k.kind, k.t.Source, l, info, j.log))
	}
	return feeds, nil
}

// runFeed starts the goroutine moving a feed's link frames.
func (j *Job) runFeed(f *feed) {
	j.links.Add(1)
	go func() {
		defer j.links.Done()
		if err := f.link.Run(context.Background(), f.handle); err != nil {
			j.log.Debug("media link ended", "kind", f.kind, "error", err)
		}
	}()
}

// closeFeeds detaches feeds and closes their links.
func (j *Job) closeFeeds(feeds []*feed, reason string) {
	for _, f := range feeds {
		f.attach(nil)
		f.link.Close(reason)
	}
}

// Update re-points audio and/or video to other sources. ffmpeg is restarted (a new SDP, as
// the codec may change), so the destination sees a short interruption.
func (j *Job) Update(ctx context.Context, audio, video *protocol.SessionTrack) error {
	for _, t := range []*protocol.SessionTrack{audio, video} {
		if t != nil && (t.Source.Agent == "" || t.Source.TrackID == "") {
			return fmt.Errorf("%w: source agent and track id are required", ErrInvalid)
		}
	}
	fresh, err := j.importAll(ctx, audio, video)
	if err != nil {
		return err
	}
	j.mu.Lock()
	select {
	case <-j.stop:
		j.mu.Unlock()
		j.closeFeeds(fresh, "stopped")
		return ErrStopped
	default:
	}
	if audio != nil {
		j.spec.Audio = audio
	}
	if video != nil {
		j.spec.Video = video
	}
	var old []*feed
	for _, nf := range fresh {
		for i, f := range j.feeds {
			if f.kind == nf.kind {
				f.retired.Store(true)
				old = append(old, f)
				j.feeds[i] = nf
			}
		}
		if !contains(j.feeds, nf) {
			j.feeds = append(j.feeds, nf)
		}
		j.runFeed(nf)
	}
	j.mu.Unlock()
	j.closeFeeds(old, "source switched")
	select {
	case j.restart <- struct{}{}:
	default:
	}
	return nil
}

// contains reports whether f is in feeds.
func contains(feeds []*feed, f *feed) bool {
	for _, x := range feeds {
		if x == f {
			return true
		}
	}
	return false
}

// Stop ends the job: ffmpeg is asked to finish (SIGINT), then killed after StopTimeout;
// links are closed. It returns when everything has exited. It is idempotent.
func (j *Job) Stop() {
	j.stopOnce.Do(func() { close(j.stop) })
	j.mu.Lock()
	started := j.dir != ""
	j.mu.Unlock()
	if started {
		<-j.done
	}
}

// Done is closed when the job has ended (stopped or failed).
func (j *Job) Done() <-chan struct{} { return j.done }

// PID returns the current ffmpeg's process id, 0 while none runs.
func (j *Job) PID() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.proc == nil {
		return 0
	}
	return j.proc.PID()
}

// snapshot returns the current feeds.
func (j *Job) snapshot() []*feed {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]*feed(nil), j.feeds...)
}

// Controller returns the conference agent controlling the job.
func (j *Job) Controller() string { return j.spec.Controller }
