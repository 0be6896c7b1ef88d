package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	pionmedia "github.com/pion/webrtc/v4/pkg/media"
)

// SampleWriter receives encoded frames, e.g. a *webrtc.TrackLocalStaticSample.
type SampleWriter interface {
	WriteSample(pionmedia.Sample) error
}

// maxLag is how far a source may fall behind real time before it stops catching up (a
// burst of late frames would only congest the receiver).
const maxLag = 500 * time.Millisecond

// Source plays a clip in a loop, in real time, into a SampleWriter.
type Source struct {
	w         SampleWriter
	open      func() (frameReader, error)
	frames    atomic.Int64
	keyframes atomic.Int64
	loops     atomic.Int64
}

// NewVP8Source plays the embedded VP8 clip into w (a track with MIME type video/VP8).
func NewVP8Source(w SampleWriter) *Source {
	return &Source{w: w, open: func() (frameReader, error) { return newIVFFrames(vp8Clip) }}
}

// NewH264Source plays the embedded H.264 clip into w (a track with MIME type video/H264)
// at ClipFrameRate.
func NewH264Source(w SampleWriter) *Source {
	return &Source{w: w, open: func() (frameReader, error) { return newH264Frames(h264Clip, ClipFrameRate) }}
}

// NewOpusSource plays the embedded Opus clip into w (a track with MIME type audio/opus).
func NewOpusSource(w SampleWriter) *Source {
	return &Source{w: w, open: func() (frameReader, error) { return newOggFrames(opusClip) }}
}

// NewClipSource plays a caller's clip: an IVF file for video/VP8, an Annex-B stream at
// fps for video/H264, or an Ogg file with one Opus packet per page for audio/opus.
func NewClipSource(w SampleWriter, mimeType string, clip []byte, fps int) (*Source, error) {
	var open func() (frameReader, error)
	switch codecOf(mimeType) {
	case codecVP8:
		open = func() (frameReader, error) { return newIVFFrames(clip) }
	case codecH264:
		if fps <= 0 {
			return nil, fmt.Errorf("media: h264 clip: %w: frame rate %d", ErrBadClip, fps)
		}
		open = func() (frameReader, error) { return newH264Frames(clip, fps) }
	case codecOpus:
		open = func() (frameReader, error) { return newOggFrames(clip) }
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedCodec, mimeType)
	}
	if _, err := open(); err != nil {
		return nil, err
	}
	return &Source{w: w, open: open}, nil
}

// Frames returns how many frames were written.
func (s *Source) Frames() int64 { return s.frames.Load() }

// Keyframes returns how many keyframes were written (every Opus packet counts as one).
func (s *Source) Keyframes() int64 { return s.keyframes.Load() }

// Loops returns how many times the clip was played to its end.
func (s *Source) Loops() int64 { return s.loops.Load() }

// Run writes frames at their real-time pace, looping the clip, until ctx ends (then it
// returns nil) or writing fails.
func (s *Source) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	next := time.Now()
	for {
		r, err := s.open()
		if err != nil {
			return err
		}
		played := 0
		for {
			f, err := r.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			if err := s.w.WriteSample(pionmedia.Sample{Data: f.data, Duration: f.dur}); err != nil {
				return fmt.Errorf("media: write sample: %w", err)
			}
			played++
			s.count(f)
			if next = next.Add(f.dur); time.Since(next) > maxLag {
				next = time.Now()
			}
			timer.Reset(time.Until(next))
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			}
		}
		if played == 0 {
			return fmt.Errorf("media: %w: no frames", ErrBadClip)
		}
		s.loops.Add(1)
	}
}

func (s *Source) count(f frame) {
	s.frames.Add(1)
	if f.key {
		s.keyframes.Add(1)
	}
}
