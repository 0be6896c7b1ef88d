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

// MinKeyframeInterval is the least time between two keyframes forced by RequestKeyframe;
// requests within it are held until it has passed, as encoders throttle PLIs.
const MinKeyframeInterval = 200 * time.Millisecond

// Source plays a clip in a loop, in real time, into a SampleWriter. A video source answers
// RequestKeyframe as an encoder answers a PLI, by jumping to the clip's next keyframe.
type Source struct {
	w         SampleWriter
	open      func() (frameReader, error)
	video     bool
	wantKey   atomic.Bool
	frames    atomic.Int64
	keyframes atomic.Int64
	forced    atomic.Int64
	loops     atomic.Int64
}

// NewVP8Source plays the embedded VP8 clip into w (a track with MIME type video/VP8).
func NewVP8Source(w SampleWriter) *Source {
	return &Source{w: w, video: true, open: func() (frameReader, error) { return newIVFFrames(vp8Clip) }}
}

// NewH264Source plays the embedded H.264 clip into w (a track with MIME type video/H264)
// at ClipFrameRate.
func NewH264Source(w SampleWriter) *Source {
	return &Source{w: w, video: true, open: func() (frameReader, error) { return newH264Frames(h264Clip, ClipFrameRate) }}
}

// NewOpusSource plays the embedded Opus clip into w (a track with MIME type audio/opus).
func NewOpusSource(w SampleWriter) *Source {
	return &Source{w: w, open: func() (frameReader, error) { return newOggFrames(opusClip) }}
}

// NewClipSource plays a caller's clip: an IVF file for video/VP8, an Annex-B stream at
// fps for video/H264, or an Ogg file with one Opus packet per page for audio/opus.
func NewClipSource(w SampleWriter, mimeType string, clip []byte, fps int) (*Source, error) {
	var open func() (frameReader, error)
	c := codecOf(mimeType)
	switch c {
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
	return &Source{w: w, open: open, video: c != codecOpus}, nil
}

// Frames returns how many frames were written.
func (s *Source) Frames() int64 { return s.frames.Load() }

// Keyframes returns how many keyframes were written (every Opus packet counts as one).
func (s *Source) Keyframes() int64 { return s.keyframes.Load() }

// Loops returns how many times the clip was played to its end.
func (s *Source) Loops() int64 { return s.loops.Load() }

// ForcedKeyframes returns how many keyframes RequestKeyframe made the source send early.
func (s *Source) ForcedKeyframes() int64 { return s.forced.Load() }

// RequestKeyframe asks a video source for a keyframe, as a PLI or FIR asks an encoder: at
// its next frame the playing loop jumps ahead to the clip's next keyframe (the RTP
// timestamps stay continuous, only the content jumps). Requests are coalesced and at most
// one keyframe is forced per MinKeyframeInterval. It is a no-op for audio sources and is
// safe for concurrent use.
func (s *Source) RequestKeyframe() {
	if s.video {
		s.wantKey.Store(true)
	}
}

// Run writes frames at their real-time pace, looping the clip, until ctx ends (then it
// returns nil) or writing fails.
func (s *Source) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	p := &player{s: s}
	next := time.Now()
	for {
		f, err := p.frame(time.Now())
		if err != nil {
			return err
		}
		if err := s.w.WriteSample(pionmedia.Sample{Data: f.data, Duration: f.dur}); err != nil {
			return fmt.Errorf("media: write sample: %w", err)
		}
		if f.forced {
			// The throttle counts from when the forced keyframe left, so two of them are
			// always sent at least MinKeyframeInterval apart however long reading took.
			p.lastForced = time.Now()
		}
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
}

func (s *Source) count(f frame) {
	s.frames.Add(1)
	if f.key {
		s.keyframes.Add(1)
	}
}

// player walks a Source's clip in a loop; only Run's goroutine uses it.
type player struct {
	s          *Source
	r          frameReader // nil before the clip is (re)opened
	played     int         // frames read in the current pass
	lastForced time.Time   // when the last forced keyframe was written
}

// frame returns the frame to send at now: the clip's next one, or its next keyframe when
// one was requested and the throttle allows.
func (p *player) frame(now time.Time) (frame, error) {
	f, err := p.next()
	if err != nil {
		return frame{}, err
	}
	if f.key {
		p.s.wantKey.Store(false)
		return f, nil
	}
	if !p.s.wantKey.Load() || now.Sub(p.lastForced) < MinKeyframeInterval {
		return f, nil
	}
	if f, err = p.skipToKeyframe(); err != nil {
		return frame{}, err
	}
	p.s.wantKey.Store(false)
	p.s.forced.Add(1)
	f.forced = true
	return f, nil
}

// skipToKeyframe reads up to the clip's next keyframe, looping; a clip without any
// keyframe yields a plain frame after its second end rather than spin.
func (p *player) skipToKeyframe() (frame, error) {
	loops := p.s.loops.Load()
	for {
		f, err := p.next()
		if err != nil || f.key || p.s.loops.Load() > loops+1 {
			return f, err
		}
	}
}

// next returns the clip's next frame, reopening the clip at its end.
func (p *player) next() (frame, error) {
	for {
		if p.r == nil {
			r, err := p.s.open()
			if err != nil {
				return frame{}, err
			}
			p.r, p.played = r, 0
		}
		f, err := p.r.next()
		if errors.Is(err, io.EOF) {
			if p.played == 0 {
				return frame{}, fmt.Errorf("media: %w: no frames", ErrBadClip)
			}
			p.s.loops.Add(1)
			p.r = nil
			continue
		}
		if err != nil {
			return frame{}, err
		}
		p.played++
		return f, nil
	}
}
