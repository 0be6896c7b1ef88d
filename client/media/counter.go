package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
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

// Sample builder tuning: a missing packet is waited for (reordering, NACK retransmission)
// until 256 later packets or 500 ms of later media arrived; and the clock rates.
const (
	maxLatePackets = 256
	maxLateTime    = 500 * time.Millisecond
	videoClockRate = 90000
	opusClockRate  = 48000
)

// FrameStats are a FrameCounter's totals.
type FrameStats struct {
	Packets   int64 // RTP packets pushed
	Frames    int64 // complete frames rebuilt
	Keyframes int64 // complete keyframes (every Opus frame is one)
	// Decodable counts complete frames received since a keyframe without any loss in
	// between: what a decoder could display.
	Decodable int64
	Gaps      int64 // losses detected between frames (each forces a wait for a keyframe)
}

// FrameCounter rebuilds frames from RTP packets and counts complete and decodable ones.
// It is safe for concurrent use.
type FrameCounter struct {
	codec codec
	mu    sync.Mutex
	sb    *samplebuilder.SampleBuilder
	st    FrameStats
	sync  bool    // a keyframe was seen and nothing was lost since
	last  *uint16 // sequence number of the previous frame's last packet
	// skipped counts padding-only packets so far: browsers send them as bandwidth probes in
	// the media's sequence space, and they must not look like losses.
	skipped uint16
	more    chan struct{}
}

// NewFrameCounter returns a counter for video/VP8, video/H264 or audio/opus.
func NewFrameCounter(mimeType string) (*FrameCounter, error) {
	var d rtp.Depacketizer
	rate := uint32(videoClockRate)
	c := codecOf(mimeType)
	switch c {
	case codecVP8:
		d = &codecs.VP8Packet{}
	case codecH264:
		d = &codecs.H264Packet{}
	case codecOpus:
		d, rate = &codecs.OpusPacket{}, opusClockRate
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedCodec, mimeType)
	}
	return &FrameCounter{codec: c, sb: samplebuilder.New(maxLatePackets, d, rate, samplebuilder.WithRTPHeaders(true), samplebuilder.WithMaxTimeDelay(maxLateTime)),
		more: make(chan struct{})}, nil
}

// Push adds one RTP packet.
func (f *FrameCounter) Push(p *rtp.Packet) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st.Packets++
	if len(p.Payload) == 0 { // padding only: no media, renumber what follows
		f.skipped++
		return
	}
	if f.skipped != 0 {
		q := *p
		q.SequenceNumber -= f.skipped
		p = &q
	}
	f.sb.Push(p)
	progressed := false
	for s := f.sb.Pop(); s != nil; s = f.sb.Pop() {
		f.countFrame(s.Data, s.PrevDroppedPackets, s.RTPHeaders)
		progressed = true
	}
	if progressed {
		close(f.more)
		f.more = make(chan struct{})
	}
}

// countFrame updates the totals for one rebuilt frame. The caller holds f.mu.
func (f *FrameCounter) countFrame(data []byte, dropped uint16, headers []*rtp.Header) {
	gap := dropped > 0
	if len(headers) > 0 {
		if f.last != nil && headers[0].SequenceNumber != *f.last+1 {
			gap = true
		}
		lastSeq := headers[len(headers)-1].SequenceNumber
		f.last = &lastSeq
	}
	if gap {
		f.st.Gaps++
		f.sync = false
	}
	f.st.Frames++
	if f.isKeyframe(data) {
		f.st.Keyframes++
		f.sync = true
	}
	if f.sync {
		f.st.Decodable++
	}
}

func (f *FrameCounter) isKeyframe(data []byte) bool {
	switch f.codec {
	case codecVP8:
		// RFC 6386 §9.1: bit 0 of the frame tag is 0 for key frames, which also carry
		// the start code 9d 01 2a.
		return len(data) >= 6 && data[0]&0x01 == 0 && data[3] == 0x9d && data[4] == 0x01 && data[5] == 0x2a
	case codecH264:
		return hasIDR(data)
	}
	return len(data) > 0
}

// hasIDR reports whether an Annex-B access unit contains an IDR slice.
func hasIDR(au []byte) bool {
	for i := 0; i+3 < len(au); i++ {
		if au[i] == 0 && au[i+1] == 0 && au[i+2] == 1 && au[i+3]&0x1f == 5 {
			return true
		}
	}
	return false
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
