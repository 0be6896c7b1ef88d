package out

import (
	"context"
	"fmt"
	"github.com/conclave-rtc/conclave/common/udpport"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/egress"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/ffmpeg"
)

// pollInterval paces readiness and health checks.
const pollInterval = 100 * time.Millisecond

// supervise runs ffmpeg in the background until the job stops or fails for good, and
// returns the first attempt's result (or ctx's error); later failures are retried with
// backoff and reported, a source switch restarts ffmpeg at once and an ended source fails
// the job. When it is over the job is cleaned up and Done is closed.
func (j *Job) supervise(ctx context.Context) error {
	sv := ffmpeg.Supervisor{Name: "streaming-out", RetryMin: j.cfg.RetryMin, RetryMax: j.cfg.RetryMax,
		MaxRetries: j.cfg.MaxRetries, Retries: "restarts", Stopped: ErrStopped, Stop: j.stop,
		Status: j.rep.Status, Failed: j.rep.Failed, Log: j.log}
	return sv.Start(ctx, j.startFFmpeg, j.watch, func() {
		j.cleanup()
		close(j.done)
	})
}

// cleanup closes the links and removes the work directory once ffmpeg is gone.
func (j *Job) cleanup() {
	j.mu.Lock()
	feeds := j.feeds
	j.mu.Unlock()
	j.closeFeeds(feeds, "stopped")
	j.links.Wait()
	_ = os.RemoveAll(j.dir)
}

// startFFmpeg writes the SDP, starts ffmpeg, points the feeds at it and waits until it has
// opened its output with media flowing. On failure nothing is left running.
func (j *Job) startFFmpeg() (*ffmpeg.Process, error) {
	select {
	case <-j.stop:
		return nil, ErrStopped
	default:
	}
	feeds := j.snapshot()
	inputs := make([]input, len(feeds))
	// Ports below the ephemeral range, released before ffmpeg binds them: a lost race fails
	// this start and the supervisor's restart picks new ones.
	ports, err := udpport.Pairs(len(feeds))
	if err != nil {
		return nil, fmt.Errorf("streaming-out: %w", err)
	}
	for i, f := range feeds {
		inputs[i] = input{kind: f.kind, info: f.info, port: ports[i]}
	}
	sdpPath := filepath.Join(j.dir, "in.sdp")
	if err := os.WriteFile(sdpPath, []byte(SDP(inputs)), 0o600); err != nil {
		return nil, fmt.Errorf("streaming-out: write sdp: %w", err)
	}
	target, err := j.checkTarget()
	if err != nil {
		return nil, err
	}
	vp := j.videoParams()
	args := Args(sdpPath, inputs, j.spec.Protocol, target, j.spec.Parameters, vp)
	opened := make(chan struct{})
	var once sync.Once
	proc, err := ffmpeg.Start(args, ffmpeg.Options{Binary: j.cfg.FFmpeg, OnLine: func(l string) {
		j.log.Debug("ffmpeg output", "line", ffmpeg.Redact(l))
		if strings.HasPrefix(l, "Output #0") {
			once.Do(func() { close(opened) })
		}
	}})
	if err != nil {
		return nil, err
	}
	j.setProc(proc)
	j.log.Info("ffmpeg started", "pid", proc.PID(), "args", ffmpeg.Redact(strings.Join(args, " ")))
	if err := j.connect(feeds, inputs); err != nil {
		j.kill(proc, feeds)
		return nil, err
	}
	if err := j.awaitReady(proc, feeds, opened); err != nil {
		j.kill(proc, feeds)
		return nil, err
	}
	return proc, nil
}

// resolveTimeout bounds the name lookup of the destination before each ffmpeg start.
const resolveTimeout = 5 * time.Second

// checkTarget applies the egress policy to the destination, again before every ffmpeg start
// (its name may now resolve elsewhere), and pins the address it checked.
func (j *Job) checkTarget() (egress.Target, error) {
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	j.mu.Lock()
	url := j.spec.URL
	j.mu.Unlock()
	t, err := j.cfg.Egress.Check(ctx, url)
	if err != nil {
		return egress.Target{}, fmt.Errorf("%w: %s: %v", ErrForbidden, ffmpeg.Redact(url), err)
	}
	return t, nil
}

// videoParams returns the requested video parameters, if any.
func (j *Job) videoParams() *protocol.VideoParameters {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.spec.Video == nil {
		return nil
	}
	return j.spec.Video.Parameters
}

// connect points every feed at its ffmpeg port (ffmpeg is already started, so its
// sockets exist by the time keyframes arrive).
func (j *Job) connect(feeds []*feed, inputs []input) error {
	for i, f := range feeds {
		conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: inputs[i].port})
		if err != nil {
			return fmt.Errorf("streaming-out: udp: %w", err)
		}
		f.attach(conn)
	}
	return nil
}

// kill stops ffmpeg, then detaches the feeds. The order matters: ffmpeg reading RTP only
// acts on SIGINT between packets, so with the feeds detached first it blocks on its silent
// UDP input until StopTimeout and is killed without finalising its output.
func (j *Job) kill(proc *ffmpeg.Process, feeds []*feed) {
	proc.Stop(j.cfg.StopTimeout)
	for _, f := range feeds {
		f.attach(nil)
	}
	j.setProc(nil)
}

// setProc records the current ffmpeg.
func (j *Job) setProc(p *ffmpeg.Process) {
	j.mu.Lock()
	j.proc = p
	j.mu.Unlock()
}

// awaitReady waits for ffmpeg to open its output with every feed forwarding.
func (j *Job) awaitReady(proc *ffmpeg.Process, feeds []*feed, opened <-chan struct{}) error {
	begin := time.Now()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-j.stop:
			return ErrStopped
		case <-proc.Done():
			return fmt.Errorf("%w: %s", ErrFFmpeg, ffmpeg.PublicReason(proc.ExitReason()))
		case <-tick.C:
		}
		if f := idleFeed(feeds, j.cfg.NoMediaTimeout, begin); f != nil {
			return fmt.Errorf("%w: No media received from %s", ErrNoMedia, f.source.TrackID)
		}
		if isClosed(opened) && allForwarding(feeds) {
			return nil
		}
		if time.Since(begin) > j.cfg.StartTimeout {
			return fmt.Errorf("%w: output not opened within %s (%s): %s", ErrFFmpeg, j.cfg.StartTimeout,
				feedStates(feeds), ffmpeg.PublicReason(proc.LastLine()))
		}
	}
}

// watch follows a running ffmpeg until something ends it, reporting sources that fall
// silent (and recover) meanwhile.
func (j *Job) watch(proc *ffmpeg.Process) (ffmpeg.Outcome, error) {
	feeds := j.snapshot()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	silent := false
	for {
		select {
		case <-j.stop:
			j.kill(proc, feeds)
			return ffmpeg.Stopped, ErrStopped
		case <-j.restart:
			j.kill(proc, feeds)
			return ffmpeg.Restart, nil
		case <-proc.Done():
			j.kill(proc, feeds)
			return ffmpeg.Exited, fmt.Errorf("%w: ffmpeg exited: %s", ErrFFmpeg, ffmpeg.PublicReason(proc.ExitReason()))
		case <-tick.C:
		}
		for _, f := range feeds {
			if isClosed(f.link.Done()) && !f.retired.Load() {
				j.kill(proc, feeds)
				return ffmpeg.Fatal, fmt.Errorf("source %s ended", f.source.TrackID)
			}
		}
		if f := idleFeed(feeds, j.cfg.NoMediaTimeout, time.Time{}); (f != nil) != silent {
			silent = f != nil
			if silent {
				j.rep.Status("No media received from " + f.source.TrackID)
			} else {
				j.rep.Status("")
			}
		}
	}
}

// idleFeed returns a feed that received nothing for d, or nil.
func idleFeed(feeds []*feed, d time.Duration, since time.Time) *feed {
	for _, f := range feeds {
		if f.idle(d, since) {
			return f
		}
	}
	return nil
}

// feedStates describes what each feed did since ffmpeg started, for a start that timed
// out: whether ffmpeg got the media, and for video whether a keyframe ever came.
func feedStates(feeds []*feed) string {
	parts := make([]string, 0, len(feeds))
	for _, f := range feeds {
		parts = append(parts, f.state())
	}
	return strings.Join(parts, "; ")
}

// allForwarding reports whether every feed wrote packets to the current ffmpeg.
func allForwarding(feeds []*feed) bool {
	for _, f := range feeds {
		if f.forwarded.Load() == 0 {
			return false
		}
	}
	return true
}

// isClosed reports whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
