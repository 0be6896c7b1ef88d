// Package recorder writes imported RTP into a recording file: natively as Matroska (MKV), or
// through an ffmpeg process as fragmented MP4. The agent feeds a Sink from its media links;
// the Sink owns its goroutines (or process) and stops them in Finish.
package recorder

import (
	"errors"
	"log/slog"
	"time"

	"github.com/conclave-rtc/conclave/common/rtpframe"
)

// Kinds of media.
const (
	Audio = "audio"
	Video = "video"
)

// Sentinel errors.
var (
	// ErrFinished: the sink was finished.
	ErrFinished = errors.New("recorder: finished")
	// ErrFormat: a source format the container cannot hold.
	ErrFormat = errors.New("recorder: unsupported format")
)

// Source describes the media of one kind a sink receives.
type Source struct {
	Kind      string
	Codec     rtpframe.Codec
	ClockRate uint32
	Channels  uint16
}

// Sink is a recording file being written.
type Sink interface {
	// Begin starts (or restarts after a source switch) the pipeline of src.Kind; keyframe
	// asks that source for a keyframe. Packets of the previous source must have stopped.
	Begin(src Source, keyframe func())
	// RTP handles one RTP packet of kind; the slice is not retained.
	RTP(kind string, pkt []byte, arrival time.Time)
	// RTCP handles one RTCP compound packet of kind (Sender Reports set the timeline).
	RTCP(kind string, pkt []byte, arrival time.Time)
	// Started is closed once media is being written.
	Started() <-chan struct{}
	// Failed is closed when the sink stopped on its own (disk error, ffmpeg exit); Finish
	// then returns the cause.
	Failed() <-chan struct{}
	// Stop begins ending the recording while media still flows and returns (within a
	// bounded time) once the sink needs no more media: ffmpeg only notices its quit key
	// between packets. The MKV sink needs nothing.
	Stop()
	// Finish ends the recording: pending media is written, the file completed and closed.
	// It is idempotent and returns the first error the sink met.
	Finish() error
}

// Config is what both sinks need.
type Config struct {
	// Path is the file to write; it must not exist.
	Path string
	// Sources are the kinds the file holds (one per kind, fixed for the file's life).
	Sources []Source
	// FlushInterval is the longest time media stays in memory before reaching the file
	// (MKV clusters). Default 1 s.
	FlushInterval time.Duration
	// App names the writing application in the file.
	App string
	// FFmpeg is the ffmpeg binary for MP4 (default "ffmpeg" from PATH).
	FFmpeg string
	// Log receives the sink's warnings (default: discarded).
	Log *slog.Logger
}

// logStats logs what the frame assembly of one kind met: padding probes, losses, drops and
// waits for keyframes.
func logStats(log *slog.Logger, kind string, st rtpframe.Stats) {
	log.Info("recording track finished", "kind", kind, "packets", st.Packets, "padding", st.Padding, "frames", st.Frames,
		"gaps", st.Gaps, "dropped", st.Dropped, "keyframeWaits", st.KeyWaits, "keyframeRequests", st.KeyRequests,
		"longestWait", st.LongestWait, "sourceChanges", st.SourceChanges)
}

// depacketizer returns the frame assembly options of one kind: keyframes are asked of the
// source, and a long wait for one is logged.
func (c *Config) depacketizer(kind string, keyframe func()) rtpframe.Options {
	log := c.Log.With("kind", kind)
	return rtpframe.Options{Keyframe: keyframe, Stalled: func(s rtpframe.Stall) {
		if s.Recovered {
			log.Info("keyframe arrived after a long wait", "waited", s.Waited, "requests", s.Requests, "dropped", s.Dropped)
			return
		}
		// Info, not a warning: a source late with its keyframe is the publisher's network or
		// encoder, nothing an operator of this server can act on (issue 21).
		log.Info("waiting for a keyframe", "waited", s.Waited, "requests", s.Requests, "dropped", s.Dropped)
	}}
}

func (c *Config) defaults() {
	if c.FlushInterval <= 0 {
		c.FlushInterval = time.Second
	}
	if c.App == "" {
		c.App = "conclave recording-agent"
	}
	if c.FFmpeg == "" {
		c.FFmpeg = "ffmpeg"
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// CheckMKV reports whether Matroska can hold the sources.
func CheckMKV(srcs []Source) error {
	for _, s := range srcs {
		if (s.Kind == Video) != s.Codec.Video() {
			return errFormat(s, "mkv")
		}
	}
	return nil
}

// CheckMP4 reports whether the MP4 path can take the sources: H.264 video (copied) and Opus
// audio (transcoded to AAC), as OWT records mp4.
func CheckMP4(srcs []Source) error {
	for _, s := range srcs {
		if (s.Kind == Video && s.Codec != rtpframe.H264) || (s.Kind == Audio && s.Codec != rtpframe.Opus) {
			return errFormat(s, "mp4")
		}
	}
	return nil
}

func errFormat(s Source, container string) error {
	return &FormatError{Kind: s.Kind, Codec: s.Codec.String(), Container: container}
}

// FormatError is a source codec a container cannot record.
type FormatError struct {
	Kind, Codec, Container string
}

// Error implements error.
func (e *FormatError) Error() string {
	return "recorder: " + e.Kind + " codec " + e.Codec + " cannot be recorded as " + e.Container
}

// Unwrap makes errors.Is(err, ErrFormat) hold.
func (e *FormatError) Unwrap() error { return ErrFormat }
