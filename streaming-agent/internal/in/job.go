// Package in runs one streaming-in (OWT §6.3): it probes an external RTSP, RTMP or HTTP
// source with ffprobe, runs ffmpeg to pull it and send H.264 and Opus as RTP to local UDP
// sockets, and serves those packets as tracks that other agents import over media links.
// A dropped source is pulled again with exponential backoff.
package in

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/egress"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/ffmpeg"
)

// Sentinel errors of the package.
var (
	// ErrInvalid: the request cannot be served (bad URL, missing required kind).
	ErrInvalid = errors.New("invalid streaming-in")
	// ErrSource: the source could not be opened or sent nothing.
	ErrSource = errors.New("streaming-in source failed")
	// ErrForbidden: the source's address is not allowed by the egress policy.
	ErrForbidden = errors.New("streaming-in source not allowed")
	// ErrStopped: the job was stopped.
	ErrStopped = errors.New("streaming-in stopped")
)

// Reporter receives a running job's health like out.Reporter.
type Reporter struct {
	Status func(reason string)
	Failed func(reason string)
}

// Config tunes jobs; zero fields take defaults.
type Config struct {
	FFmpeg       string
	FFprobe      string
	ProbeTimeout time.Duration // ffprobe and socket timeout (default 10 s)
	StartTimeout time.Duration // RTP must flow within this (default 15 s)
	StopTimeout  time.Duration
	RetryMin     time.Duration // default 1 s
	RetryMax     time.Duration // default 30 s
	MaxRetries   int           // consecutive failed pulls before giving up (default 10)
	// Egress decides which source addresses may be reached (nil: public addresses only).
	Egress *egress.Policy
	Logger *slog.Logger
}

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.ProbeTimeout, 10*time.Second)
	def(&c.StartTimeout, 15*time.Second)
	def(&c.StopTimeout, ffmpeg.DefaultStopTimeout)
	def(&c.RetryMin, time.Second)
	def(&c.RetryMax, 30*time.Second)
	if c.FFmpeg == "" {
		c.FFmpeg = "ffmpeg"
	}
	if c.FFprobe == "" {
		c.FFprobe = "ffprobe"
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = 10
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Job is one running streaming-in.
type Job struct {
	cfg    Config
	spec   protocol.InStart
	rep    Reporter
	log    *slog.Logger
	target egress.Target // the checked, pinned source
	plan   plan

	mu     sync.Mutex
	tracks []*Track
	proc   *ffmpeg.Process

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	started  bool
}

// New validates spec; it starts nothing.
func New(cfg Config, spec protocol.InStart, rep Reporter) (*Job, error) {
	if spec.ID == "" {
		return nil, fmt.Errorf("%w: id is required", ErrInvalid)
	}
	if msg := ValidateURL(spec.URL); msg != "" {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, msg)
	}
	if spec.Audio == protocol.TrackNo && spec.Video == protocol.TrackNo {
		return nil, fmt.Errorf("%w: audio or video is required", ErrInvalid)
	}
	if rep.Status == nil {
		rep.Status = func(string) {}
	}
	if rep.Failed == nil {
		rep.Failed = func(string) {}
	}
	cfg = cfg.withDefaults()
	return &Job{cfg: cfg, spec: spec, rep: rep, stop: make(chan struct{}), done: make(chan struct{}),
		log: cfg.Logger.With("streaming", spec.ID, "url", ffmpeg.Redact(spec.URL))}, nil
}

// ID returns the stream id.
func (j *Job) ID() string { return j.spec.ID }

// Start probes the source, starts pulling it and returns the tracks once RTP flows on all
// of them. A failed Start leaves nothing running.
func (j *Job) Start(ctx context.Context) ([]protocol.RTCTrack, error) {
	target, err := j.cfg.Egress.Check(ctx, j.spec.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrForbidden, ffmpeg.Redact(j.spec.URL), err)
	}
	in := append(inputArgs(target.URL, j.spec.TransportProtocol, j.cfg.ProbeTimeout), target.InputArgs()...)
	pr, err := ffmpeg.Probe(ctx, j.cfg.FFprobe, target.URL, in, j.cfg.ProbeTimeout)
	if err != nil {
		// The answer says nothing of how the attempt went: refused, reset, timed out or an
		// unexpected protocol would tell open ports from closed ones. The log has it.
		j.log.Warn("source probe failed", "error", ffmpeg.Redact(err.Error()))
		return nil, fmt.Errorf("%w: cannot open %s (details in the streaming agent's log)", ErrSource, ffmpeg.Redact(j.spec.URL))
	}
	j.target = target
	if err := j.choose(pr); err != nil {
		return nil, err
	}
	if err := j.openTracks(); err != nil {
		return nil, err
	}
	j.mu.Lock()
	j.started = true
	j.mu.Unlock()
	if err := j.supervise(ctx); err != nil {
		j.Stop()
		return nil, err
	}
	return j.describe(), nil
}

// choose decides which kinds to pull (TrackYes requires the kind, TrackAuto takes it
// when present).
func (j *Job) choose(pr ffmpeg.ProbeResult) error {
	j.plan = plan{url: j.target.URL, extra: j.target.InputArgs(), transport: j.spec.TransportProtocol, timeout: j.cfg.ProbeTimeout}
	if j.spec.Video != protocol.TrackNo {
		if pr.Video == nil && j.spec.Video == protocol.TrackYes {
			return fmt.Errorf("%w: the source has no video", ErrInvalid)
		}
		j.plan.video = pr.Video
	}
	if j.spec.Audio != protocol.TrackNo {
		if pr.Audio == nil && j.spec.Audio == protocol.TrackYes {
			return fmt.Errorf("%w: the source has no audio", ErrInvalid)
		}
		j.plan.audio = pr.Audio
	}
	if j.plan.video == nil && j.plan.audio == nil {
		return fmt.Errorf("%w: the source has no usable audio or video", ErrInvalid)
	}
	return nil
}

// openTracks creates the tracks and their sockets and starts their readers.
func (j *Job) openTracks() error {
	var tracks []*Track
	add := func(info medialink.TrackInfo, desc protocol.RTCTrack) error {
		t, err := newTrack(info, desc, rand.Uint32())
		if err != nil {
			for _, t := range tracks {
				t.close()
			}
			return fmt.Errorf("streaming-in: udp: %w", err)
		}
		go t.read()
		tracks = append(tracks, t)
		return nil
	}
	if v := j.plan.video; v != nil {
		f, fmtp := videoFormat(v)
		id := j.spec.ID + "-video"
		if err := add(medialink.TrackInfo{TrackID: id, Kind: "video", MimeType: "video/H264", ClockRate: 90000, Fmtp: fmtp},
			protocol.RTCTrack{ID: id, Type: "video", Format: f, Parameters: videoParams(v)}); err != nil {
			return err
		}
		j.plan.videoPort = tracks[len(tracks)-1].port()
	}
	if j.plan.audio != nil {
		id := j.spec.ID + "-audio"
		if err := add(medialink.TrackInfo{TrackID: id, Kind: "audio", MimeType: "audio/opus", ClockRate: 48000, Channels: 2,
			Fmtp: "minptime=10;useinbandfec=1"},
			protocol.RTCTrack{ID: id, Type: "audio", Format: protocol.Format{Codec: "opus", SampleRate: 48000, ChannelNum: 2}}); err != nil {
			return err
		}
		j.plan.audioPort = tracks[len(tracks)-1].port()
	}
	j.mu.Lock()
	j.tracks = tracks
	j.mu.Unlock()
	return nil
}

// describe lists the tracks for InStarted.
func (j *Job) describe() []protocol.RTCTrack {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]protocol.RTCTrack, len(j.tracks))
	for i, t := range j.tracks {
		out[i] = t.desc
	}
	return out
}

// Track returns the job's track with id, or nil.
func (j *Job) Track(id string) *Track {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, t := range j.tracks {
		if t.ID() == id {
			return t
		}
	}
	return nil
}

// PID returns the current ffmpeg's process id, 0 while none runs.
func (j *Job) PID() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.proc == nil {
		return 0
	}
	return j.proc.PID()
}

// Stop ends the pull and closes the tracks (importers' links end). It is idempotent and
// returns when everything has exited.
func (j *Job) Stop() {
	j.stopOnce.Do(func() { close(j.stop) })
	j.mu.Lock()
	started := j.started
	j.mu.Unlock()
	if started {
		<-j.done
	}
}

// Done is closed when the job has ended.
func (j *Job) Done() <-chan struct{} { return j.done }

// Controller returns the conference agent controlling the job.
func (j *Job) Controller() string { return j.spec.Controller }
