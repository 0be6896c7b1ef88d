// Package pipeline holds the media stages of mix and transcode sessions: output tracks that
// packetize encoded frames and fan them out to media links (Output), demand tracking that
// runs a pipeline only while someone consumes it (Demand), input imports with
// depacketizing and decoding (VideoInput, AudioInput), the video compositor clock
// (Compositor) and the audio mixing clock (AudioClock).
//
// Layering: agent → pipeline → codec, yuv, internal/audiomix, common/rtpframe,
// common/medialink.
package pipeline

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// MTU is the size of the RTP packets an output produces.
const MTU = 1200

// Payload types of the outputs (media links carry the codec in their Meta frame; importers
// map them to their own payload types).
const (
	videoPT = 96
	audioPT = 111
)

// ErrClosed is returned by Attach on an output whose session ended.
var ErrClosed = errors.New("pipeline: output closed")

// ErrRefused is returned by Attach when the session's Attach hook refuses the consumer (the
// session stopped, or the agent is at capacity).
var ErrRefused = errors.New("pipeline: consumer refused (session stopped or agent at capacity)")

// Hooks are called when an output gains or loses a consumer (a media link).
type Hooks struct {
	// Attach is called for each new link; returning false refuses it.
	Attach func() bool
	// Detach is called once for each link that Attach accepted, when it ends.
	Detach func()
	// Keyframe is called when a consumer asks for a keyframe (may be nil).
	Keyframe func()
}

// Output is one exported track of a session: it packetizes encoded frames with a stable
// SSRC and continuous sequence numbers and sends them to every attached media link.
type Output struct {
	info  medialink.TrackInfo
	hooks Hooks

	mu     sync.Mutex
	sinks  map[*medialink.Link]struct{}
	pk     rtp.Packetizer
	ticks  uint32 // media clock of the last frame sent
	primed bool   // a frame was sent: ticks is meaningful
	buf    []byte
	closed bool
}

// NewOutput returns an output for info (MimeType "video/VP8", "video/H264" or "audio/opus").
func NewOutput(info medialink.TrackInfo, hooks Hooks) (*Output, error) {
	var pay rtp.Payloader
	pt := uint8(videoPT)
	switch strings.ToLower(info.MimeType) {
	case "video/vp8":
		pay = &codecs.VP8Payloader{EnablePictureID: true}
	case "video/h264":
		pay = &codecs.H264Payloader{}
	case "audio/opus":
		pay, pt = &codecs.OpusPayloader{}, audioPT
	default:
		return nil, fmt.Errorf("pipeline: no packetizer for %q", info.MimeType)
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("pipeline: ssrc: %w", err)
	}
	ssrc := binary.BigEndian.Uint32(b[:])
	pk := rtp.NewPacketizer(MTU, pt, ssrc, pay, rtp.NewRandomSequencer(), info.ClockRate)
	return &Output{info: info, hooks: hooks, sinks: map[*medialink.Link]struct{}{}, pk: pk, buf: make([]byte, MTU+64)}, nil
}

// Info describes the track (sent to importers in the media-link Meta frame).
func (o *Output) Info() medialink.TrackInfo { return o.info }

// Attach adds an importer's link (medialink.Exporter semantics).
func (o *Output) Attach(l *medialink.Link) (medialink.Export, error) {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return medialink.Export{}, ErrClosed
	}
	o.sinks[l] = struct{}{}
	o.mu.Unlock()
	if o.hooks.Attach != nil && !o.hooks.Attach() {
		o.remove(l)
		return medialink.Export{}, ErrRefused
	}
	var once sync.Once
	detach := func() {
		once.Do(func() {
			o.remove(l)
			if o.hooks.Detach != nil {
				o.hooks.Detach()
			}
		})
	}
	return medialink.Export{Info: o.info, Keyframe: o.hooks.Keyframe, Detach: detach}, nil
}

func (o *Output) remove(l *medialink.Link) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.sinks, l)
}

// Consumers returns the number of attached links.
func (o *Output) Consumers() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.sinks)
}

// Send packetizes one encoded frame (H.264 in Annex-B) whose media-clock time is ticks
// (90 kHz for video, 48 kHz for audio; wrapping) and sends it to every link. A link whose
// queue is full loses the packets (it asks for a keyframe after the gap).
func (o *Output) Send(frame []byte, ticks uint32) {
	if len(frame) == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.primed {
		o.pk.SkipSamples(ticks - o.ticks)
	}
	o.ticks, o.primed = ticks, true
	for _, p := range o.pk.Packetize(frame, 0) {
		n, err := p.MarshalTo(o.buf)
		if err != nil {
			continue
		}
		for l := range o.sinks {
			l.SendRTP(o.buf[:n])
		}
	}
}

// Close refuses new links and closes the attached ones.
func (o *Output) Close(reason string) {
	o.mu.Lock()
	o.closed = true
	links := make([]*medialink.Link, 0, len(o.sinks))
	for l := range o.sinks {
		links = append(links, l)
	}
	o.mu.Unlock()
	for _, l := range links {
		l.Close(reason)
	}
}
