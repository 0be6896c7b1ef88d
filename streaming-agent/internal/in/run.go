package in

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/conclave-rtc/conclave/streaming-agent/internal/ffmpeg"
)

// pollInterval paces readiness checks.
const pollInterval = 100 * time.Millisecond

// supervise pulls the source until the job stops or fails for good. The first attempt's
// result goes to first; later failures are retried with backoff and reported.
func (j *Job) supervise(first chan<- error) {
	defer close(j.done)
	defer j.closeTracks()
	started, failures := false, 0
	for {
		proc, err := j.startFFmpeg()
		if err == nil {
			if !started {
				first <- nil
			} else if failures > 0 {
				j.rep.Status("")
				j.log.Info("streaming-in resumed")
			}
			started, failures = true, 0
			if err = j.watch(proc); err == nil {
				return // stopped
			}
		}
		if errors.Is(err, ErrStopped) || !started {
			if !started {
				first <- err
			}
			return
		}
		if failures++; failures > j.cfg.MaxRetries {
			j.rep.Failed(fmt.Sprintf("%v (gave up after %d retries)", err, j.cfg.MaxRetries))
			return
		}
		if !j.backoff(failures, err) {
			return
		}
	}
}

// backoff reports the failure and waits before pulling again; false means stopped.
func (j *Job) backoff(failures int, err error) bool {
	delay := j.cfg.RetryMin << min(failures-1, 16)
	if delay > j.cfg.RetryMax || delay <= 0 {
		delay = j.cfg.RetryMax
	}
	msg := fmt.Sprintf("%v; retrying in %s", err, delay)
	j.log.Warn("streaming-in interrupted", "reason", msg)
	j.rep.Status(msg)
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-j.stop:
		return false
	case <-t.C:
		return true
	}
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
			return fmt.Errorf("%w: ffmpeg exited: %s", ErrSource, proc.ExitReason())
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
		return fmt.Errorf("%w: ffmpeg exited: %s", ErrSource, proc.ExitReason())
	}
}
