// Package out runs one streaming-out (OWT §6.2): it imports a stream's audio and video
// over media links, feeds them to ffmpeg as RTP described by an SDP file, and keeps ffmpeg
// pushing to an RTMP, RTSP, HLS or DASH destination, restarting it with exponential
// backoff when it exits.
package out

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/egress"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/ffmpeg"
)

// Importer opens a media link to a source track (rtc.export on its agent, then Dial). The
// returned link is not running yet.
type Importer func(ctx context.Context, ref protocol.TrackRef) (*medialink.Link, medialink.TrackInfo, error)

// Reporter receives a running job's health: Status while it retries ("" when healthy
// again), Failed once when it ends on its own.
type Reporter struct {
	Status func(reason string)
	Failed func(reason string)
}

// Config tunes jobs; zero fields take defaults (see withDefaults).
type Config struct {
	FFmpeg         string         // ffmpeg binary (default "ffmpeg")
	WorkDir        string         // where SDP files go (default os.TempDir())
	StartTimeout   time.Duration  // ffmpeg must open its output within this (default 15 s)
	NoMediaTimeout time.Duration  // a source silent this long is reported (default 10 s)
	StopTimeout    time.Duration  // SIGINT → SIGKILL delay (default 5 s)
	RetryMin       time.Duration  // first restart delay (default 1 s)
	RetryMax       time.Duration  // restart delay cap (default 30 s)
	MaxRetries     int            // consecutive failed restarts before giving up (default 10)
	Egress         *egress.Policy // which destinations may be reached (nil: public addresses only)
	Logger         *slog.Logger
}

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.StartTimeout, 15*time.Second)
	def(&c.NoMediaTimeout, 10*time.Second)
	def(&c.StopTimeout, ffmpeg.DefaultStopTimeout)
	def(&c.RetryMin, time.Second)
	def(&c.RetryMax, 30*time.Second)
	if c.FFmpeg == "" {
		c.FFmpeg = "ffmpeg"
	}
	if c.WorkDir == "" {
		c.WorkDir = os.TempDir()
	}
	if c.MaxRetries <= 0 {
		c.MaxRetries = 10
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Sentinel errors of the package.
var (
	// ErrNoMedia: a source sent nothing within NoMediaTimeout.
	ErrNoMedia = errors.New("no media received")
	// ErrFFmpeg: ffmpeg exited or did not open its output in time.
	ErrFFmpeg = errors.New("ffmpeg failed")
	// ErrStopped: the job was stopped.
	ErrStopped = errors.New("streaming-out stopped")
	// ErrForbidden: the destination's address is not allowed by the egress policy.
	ErrForbidden = errors.New("streaming-out destination not allowed")
	// ErrInvalid: the request cannot be served (bad protocol, URL or tracks).
	ErrInvalid = errors.New("invalid streaming-out")
)

// Validate checks a start request before anything is imported.
func Validate(s protocol.OutStart) error {
	if s.ID == "" {
		return fmt.Errorf("%w: id is required", ErrInvalid)
	}
	if s.Audio == nil && s.Video == nil {
		return fmt.Errorf("%w: audio or video is required", ErrInvalid)
	}
	if msg := ValidateTarget(s.Protocol, s.URL); msg != "" {
		return fmt.Errorf("%w: %s", ErrInvalid, msg)
	}
	for _, t := range []*protocol.SessionTrack{s.Audio, s.Video} {
		if t != nil && (t.Source.Agent == "" || t.Source.TrackID == "") {
			return fmt.Errorf("%w: source agent and track id are required", ErrInvalid)
		}
	}
	return nil
}
