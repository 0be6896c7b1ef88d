package pipeline

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/conclave-rtc/conclave/mixing-agent/codec"
)

// maxOpusPacket is the largest Opus packet the encoder may produce (RFC 6716 §3.2.1 bound).
const maxOpusPacket = 1275

// AudioClockConfig configures an AudioClock.
type AudioClockConfig struct {
	Channels   int
	BitrateBps int
	// Mix fills one 20 ms interleaved frame and reports the active input and whether it
	// changed.
	Mix func(out []int16) (active string, changed bool)
	// Active is called (from the clock goroutine) when the active input changed (may be nil).
	Active func(stream string)
	Output *Output
	// Epoch is the zero of the output's media clock (stable across runs of one session).
	Epoch time.Time
}

// AudioClock mixes, encodes and sends one 20 ms audio frame per tick. Timestamps advance by
// the sample count from a start aligned on the wall clock.
type AudioClock struct {
	cfg    AudioClockConfig
	frames atomic.Uint64
}

// NewAudioClock validates cfg.
func NewAudioClock(cfg AudioClockConfig) (*AudioClock, error) {
	if cfg.Channels != 1 && cfg.Channels != 2 {
		return nil, fmt.Errorf("pipeline: %d audio channels (1 or 2)", cfg.Channels)
	}
	if cfg.Mix == nil || cfg.Output == nil {
		return nil, fmt.Errorf("pipeline: audio clock needs Mix and Output")
	}
	return &AudioClock{cfg: cfg}, nil
}

// Frames returns the number of frames sent.
func (a *AudioClock) Frames() uint64 { return a.frames.Load() }

// Run mixes until ctx ends; it returns nil then, or the encoder's error.
func (a *AudioClock) Run(ctx context.Context) error {
	enc, err := codec.NewOpusEncoder(a.cfg.Channels, a.cfg.BitrateBps)
	if err != nil {
		return fmt.Errorf("pipeline: opus encoder: %w", err)
	}
	defer enc.Close()
	pcm := make([]int16, FrameSamples*a.cfg.Channels)
	pkt := make([]byte, maxOpusPacket)
	ticks := mediaTicks(time.Since(a.cfg.Epoch), SampleRate)
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		active, changed := a.cfg.Mix(pcm)
		if changed && a.cfg.Active != nil {
			a.cfg.Active(active)
		}
		n, err := enc.Encode(pcm, pkt)
		if err != nil {
			return fmt.Errorf("pipeline: opus encode: %w", err)
		}
		a.cfg.Output.Send(pkt[:n], ticks)
		a.frames.Add(1)
		ticks += FrameSamples
	}
}
