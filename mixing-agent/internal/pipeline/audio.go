package pipeline

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/rtpframe"
	"github.com/conclave-rtc/conclave/mixing-agent/codec"
)

// Audio framing: 48 kHz, 20 ms frames (what Opus over WebRTC uses and the mixer expects).
const (
	SampleRate     = 48000
	FrameSamples   = SampleRate / 50 // samples per channel in 20 ms
	maxOpusSamples = SampleRate * 120 / 1000
)

// AudioInput imports one Opus track, decodes it to PCM with Channels channels and passes
// it on in 20 ms frames.
type AudioInput struct {
	channels int
	push     func(pcm []int16) // one 20 ms interleaved frame, valid during the call
	dec      *codec.OpusDecoder
	pcm      []int16 // decoder output
	pending  []int16 // samples not yet forming a full frame
	decoded  atomic.Uint64
}

// NewAudioInput returns an input decoding to channels (1 or 2) and calling push with each
// complete 20 ms frame.
func NewAudioInput(channels int, push func(pcm []int16)) *AudioInput {
	return &AudioInput{channels: channels, push: push}
}

// Run imports ref and decodes it until the link or ctx ends.
func (a *AudioInput) Run(ctx context.Context, imp Importer, ref protocol.TrackRef) error {
	return runImport(ctx, imp, ref, "audio", a, nil)
}

// Decoded returns the number of packets decoded.
func (a *AudioInput) Decoded() uint64 { return a.decoded.Load() }

func (a *AudioInput) open(info medialink.TrackInfo, c rtpframe.Codec) error {
	if c != rtpframe.Opus {
		return fmt.Errorf("%w: audio %s", ErrUnsupportedCodec, info.MimeType)
	}
	dec, err := codec.NewOpusDecoder(a.channels)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnsupportedCodec, err)
	}
	a.dec = dec
	a.pcm = make([]int16, maxOpusSamples*a.channels)
	return nil
}

func (a *AudioInput) close() { a.dec.Close() }

func (a *AudioInput) frame(f rtpframe.Frame) bool {
	n, err := a.dec.Decode(f.Data, a.pcm)
	if err != nil || n <= 0 {
		return true // Opus frames stand alone: the next one decodes
	}
	a.decoded.Add(1)
	a.pending = append(a.pending, a.pcm[:n*a.channels]...)
	size := FrameSamples * a.channels
	for len(a.pending) >= size {
		a.push(a.pending[:size])
		a.pending = append(a.pending[:0], a.pending[size:]...)
	}
	return true
}
