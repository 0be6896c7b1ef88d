package pipeline

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/conclave-rtc/conclave/mixing-agent/codec"
	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
)

// MinKeyframeInterval rate-limits keyframes forced by consumers' requests: requests within
// this interval of the last forced keyframe are merged into one at its end.
const MinKeyframeInterval = 500 * time.Millisecond

// videoClockRate is the RTP clock of every video output (RFC 7741 §4.1, RFC 6184 §8.2.1).
const videoClockRate = 90000

// CompositorConfig configures a Compositor.
type CompositorConfig struct {
	// Encoder is the output encoding. Width or Height 0: the size Size reports, once known.
	Encoder codec.VideoEncoderConfig
	// Size gives the output size when Encoder leaves it open (transcoding "as the source").
	Size func() (w, h int, ok bool)
	// Compose draws one output picture into dst (background, then the inputs).
	Compose func(dst *yuv.Image)
	// Output receives the encoded frames.
	Output *Output
	// Epoch is the zero of the output's media clock (stable across runs of one session).
	Epoch time.Time
}

// Compositor is the video clock of a session: at the configured framerate it composes a
// picture, encodes it and sends it to the output. The first frame of a run is a keyframe.
type Compositor struct {
	cfg       CompositorConfig
	forceKey  atomic.Bool
	frames    atomic.Uint64
	keyframes atomic.Uint64
}

// NewCompositor validates cfg.
func NewCompositor(cfg CompositorConfig) (*Compositor, error) {
	e := cfg.Encoder
	if e.Framerate <= 0 || e.Framerate > 120 {
		return nil, fmt.Errorf("pipeline: framerate %d out of range 1..120", e.Framerate)
	}
	if (e.Width <= 0 || e.Height <= 0) && cfg.Size == nil {
		return nil, fmt.Errorf("pipeline: output size %dx%d", e.Width, e.Height)
	}
	if cfg.Compose == nil || cfg.Output == nil {
		return nil, fmt.Errorf("pipeline: compositor needs Compose and Output")
	}
	return &Compositor{cfg: cfg}, nil
}

// RequestKeyframe asks for a keyframe (a consumer joined or lost packets).
func (c *Compositor) RequestKeyframe() { c.forceKey.Store(true) }

// Frames returns the frames encoded and how many of them were keyframes.
func (c *Compositor) Frames() (frames, keyframes uint64) { return c.frames.Load(), c.keyframes.Load() }

// Run composes and encodes until ctx ends; it returns nil then, or the encoder's error.
func (c *Compositor) Run(ctx context.Context) error {
	ticker := time.NewTicker(time.Second / time.Duration(c.cfg.Encoder.Framerate))
	defer ticker.Stop()
	var (
		enc     codec.VideoEncoder
		img     *yuv.Image
		lastKey time.Time
	)
	defer func() {
		if enc != nil {
			enc.Close()
		}
	}()
	c.forceKey.Store(true)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		if enc == nil {
			var err error
			if enc, img, err = c.open(); err != nil || enc == nil {
				if err != nil {
					return err
				}
				continue
			}
		}
		c.cfg.Compose(img)
		now := time.Now()
		force := c.forceKey.Load() && (lastKey.IsZero() || now.Sub(lastKey) >= MinKeyframeInterval)
		if force {
			c.forceKey.Store(false)
		}
		frame, key, err := enc.Encode(img, force)
		if err != nil {
			return fmt.Errorf("pipeline: encode: %w", err)
		}
		if len(frame) == 0 {
			continue
		}
		if key {
			lastKey = now
			c.keyframes.Add(1)
		}
		c.frames.Add(1)
		c.cfg.Output.Send(frame, mediaTicks(now.Sub(c.cfg.Epoch), videoClockRate))
	}
}

// open creates the encoder and the output picture once the output size is known; it
// returns a nil encoder and no error while the size is still unknown.
func (c *Compositor) open() (codec.VideoEncoder, *yuv.Image, error) {
	cfg := c.cfg.Encoder
	if cfg.Width <= 0 || cfg.Height <= 0 {
		w, h, ok := c.cfg.Size()
		if !ok {
			return nil, nil, nil
		}
		cfg.Width, cfg.Height = w, h
	}
	cfg.Width, cfg.Height = cfg.Width+cfg.Width&1, cfg.Height+cfg.Height&1
	enc, err := codec.NewVideoEncoder(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("pipeline: video encoder: %w", err)
	}
	return enc, yuv.NewImage(cfg.Width, cfg.Height), nil
}

// mediaTicks converts d to a wrapping media clock of rate Hz without overflowing for long
// sessions.
func mediaTicks(d time.Duration, rate int64) uint32 {
	return uint32(int64(d/time.Second)*rate + int64(d%time.Second)*rate/int64(time.Second))
}
