package in

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/conclave-rtc/conclave/streaming-agent/internal/ffmpeg"
)

// pollInterval paces readiness checks.
const pollInterval = 100 * time.Millisecond

// supervise pulls the source in the background until the job stops or fails for good, and
// returns the first attempt's result (or ctx's error); later failures are retried with
// backoff and reported. When it is over the tracks are closed and Done is closed.
func (j *Job) supervise(ctx context.Context) error {
	sv := ffmpeg.Supervisor{Name: "streaming-in", RetryMin: j.cfg.RetryMin, RetryMax: j.cfg.RetryMax,
		MaxRetries: j.cfg.MaxRetries, Retries: "retries", Stopped: ErrStopped, Stop: j.stop,
		Status: j.rep.Status, Failed: j.rep.Failed, Log: j.log}
	watch := func(proc *ffmpeg.Process) (ffmpeg.Outcome, error) {
		if err := j.watch(proc); err != nil {
			return ffmpeg.Exited, err
		}
		return ffmpeg.Stopped, nil
	}
	return sv.Start(ctx, j.startFFmpeg, watch, func() {
		j.closeTracks()
		close(j.done)
	})
}

// closeTracks closes every track (their importers' links end).
func (j *Job) closeTracks() {
	j.mu.Lock()
	tracks := j.tracks
	j.mu.Unlock()
	for _, t := range tracks {
		t.close()
	}
}

// startFFmpeg starts a pull and waits until RTP arrives on every track.
func (j *Job) startFFmpeg() (*ffmpeg.Process, error) {
	select {
	case <-j.stop:
		return nil, ErrStopped
	default:
	}
	j.mu.Lock()
	tracks := j.tracks
	j.mu.Unlock()
	for _, t := range tracks {
		t.newEpoch()
	}
	args := Args(j.plan)
	proc, err := ffmpeg.Start(args, ffmpeg.Options{Binary: j.cfg.FFmpeg})
	if err != nil {
		return nil, err
	}
	j.setProc(proc)
	j.log.Info("ffmpeg started", "pid", proc.PID(), "args", ffmpeg.Redact(strings.Join(args, " ")))
	if err := j.awaitFlow(proc, tracks); err != nil {
		proc.Stop(j.cfg.StopTimeout)
		j.setProc(nil)
		return nil, err
	}
	return proc, nil
}

// setProc records the current ffmpeg.
func (j *Job) setProc(p *ffmpeg.Process) {
	j.mu.Lock()
	j.proc = p
	j.mu.Unlock()
}

// awaitFlow waits for packets on every track.
func (j *Job) awaitFlow(proc *ffmpeg.Process, tracks []*Track) error {
	begin := time.Now()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-j.stop:
			return ErrStopped
		case <-proc.Done():
			return fmt.Errorf("%w: ffmpeg exited: %s", ErrSource, ffmpeg.PublicReason(proc.ExitReason()))
		case <-tick.C:
		}
		waiting := ""
		for _, t := range tracks {
			if t.received.Load() == 0 {
				waiting = t.ID()
			}
		}
		if waiting == "" {
			return nil
		}
		if time.Since(begin) > j.cfg.StartTimeout {
			return fmt.Errorf("%w: No media received from %s for %s", ErrSource, ffmpeg.Redact(j.spec.URL), waiting)
		}
	}
}

// watch waits for ffmpeg to exit (the source dropped: an error) or the job to stop (nil).
func (j *Job) watch(proc *ffmpeg.Process) error {
	defer j.setProc(nil)
	select {
	case <-j.stop:
		proc.Stop(j.cfg.StopTimeout)
		return nil
	case <-proc.Done():
		return fmt.Errorf("%w: ffmpeg exited: %s", ErrSource, ffmpeg.PublicReason(proc.ExitReason()))
	}
}
