package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/rtpframe"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// codec identifies the payload formats the package handles.
type codec int

const (
	codecUnknown codec = iota
	codecVP8
	codecH264
	codecOpus
)

func codecOf(mimeType string) codec {
	switch strings.ToLower(mimeType) {
	case strings.ToLower(webrtc.MimeTypeVP8):
		return codecVP8
	case strings.ToLower(webrtc.MimeTypeH264):
		return codecH264
	case strings.ToLower(webrtc.MimeTypeOpus):
		return codecOpus
	}
	return codecUnknown
}

const (
	videoClockRate = 90000
	opusClockRate  = 48000
)

// FrameStats are a FrameCounter's totals.
type FrameStats struct {
	Packets   int64 // RTP packets pushed
	Frames    int64 // frames seen: decodable ones and those dropped as incomplete or undecodable
	Keyframes int64 // decodable keyframes (every Opus frame is one)
	// Decodable counts the frames a decoder could display: complete, and with every frame
	// they refer to received (a loss makes the frames up to the next keyframe undecodable).
	Decodable int64
	Gaps      int64 // packet losses detected (padding probes do not count)
}

// FrameCounter rebuilds frames from RTP packets and counts complete and decodable ones,
// with the frame assembly every server-side consumer uses (common/rtpframe): packets are
// reordered, padding probes skipped, and a loss is recovered at the next keyframe, which
// the counter asks for when given a way to (WithKeyframeRequest). It is safe for
// concurrent use.
type FrameCounter struct {
	mu   sync.Mutex
	d    *rtpframe.Depacketizer
	st   FrameStats
	more chan struct{}
}

// CounterOption configures a FrameCounter.
type CounterOption func(*rtpframe.Options)

// WithKeyframeRequest makes the counter ask for keyframes (e.g. by sending a PLI) while
// it waits for one, with back-off, as a real decoder's receiver does.
func WithKeyframeRequest(request func()) CounterOption {
	return func(o *rtpframe.Options) { o.Keyframe = request }
}

// NewFrameCounter returns a counter for video/VP8, video/H264 or audio/opus.
func NewFrameCounter(mimeType string, opts ...CounterOption) (*FrameCounter, error) {
	if codecOf(mimeType) == codecUnknown {
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedCodec, mimeType)
	}
	c, err := rtpframe.CodecOf(mimeType)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedCodec, mimeType)
	}
	// Wait up to 500 ms for a missing packet (reordering, NACK retransmission).
	o := rtpframe.Options{MaxDelay: 500 * time.Millisecond}
	for _, opt := range opts {
		opt(&o)
	}
	return &FrameCounter{d: rtpframe.New(c, o), more: make(chan struct{})}, nil
}

// Push adds one RTP packet that arrived now.
func (f *FrameCounter) Push(p *rtp.Packet) { f.PushAt(p, time.Now()) }

// PushAt adds one RTP packet that arrived at at (arrival times drive the wait for missing
// packets and the keyframe requests).
func (f *FrameCounter) PushAt(p *rtp.Packet, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st.Packets++
	before := f.st.Decodable
	f.d.Push(p, at, f.count)
	ds := f.d.Stats()
	f.st.Frames, f.st.Gaps = f.st.Decodable+int64(ds.Dropped), int64(ds.Gaps)
	if f.st.Decodable != before {
		close(f.more)
		f.more = make(chan struct{})
	}
}

// count counts one decodable frame; f.mu is held.
func (f *FrameCounter) count(fr rtpframe.Frame) {
	f.st.Decodable++
	if fr.Key {
		f.st.Keyframes++
	}
}

// Stats returns the totals so far.
func (f *FrameCounter) Stats() FrameStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st
}

// Consume reads RTP packets from a remote track into the counter until reading fails;
// it returns nil when the track ended (EOF).
func (f *FrameCounter) Consume(track *webrtc.TrackRemote) error {
	for {
		p, _, err := track.ReadRTP()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("media: read %s: %w", track.Kind(), err)
		}
		f.Push(p)
	}
}

// WaitDecodable waits until at least n decodable frames were counted.
func (f *FrameCounter) WaitDecodable(ctx context.Context, n int64) error {
	for {
		f.mu.Lock()
		got, more := f.st.Decodable, f.more
		f.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-more:
		case <-ctx.Done():
			return fmt.Errorf("media: %d of %d decodable frames: %w", got, n, ctx.Err())
		}
	}
}
