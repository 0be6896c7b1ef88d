package pipeline

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/rtpframe"
	"github.com/conclave-rtc/conclave/mixing-agent/codec"
	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
)

// VideoInput imports one video track, decodes it in its link's reader goroutine and keeps
// the latest picture for the compositor.
type VideoInput struct {
	dec     codec.VideoDecoder
	h264    bool // frames come in AVCC form (rtpframe) and are decoded as Annex-B
	annexB  []byte
	decoded atomic.Uint64
	errors  atomic.Uint64

	log *slog.Logger

	mu  sync.Mutex
	pic *yuv.Image // the latest picture; nil before the first
}

// NewVideoInput returns an input with no picture yet; log (may be nil) gets its warnings.
func NewVideoInput(log *slog.Logger) *VideoInput { return &VideoInput{log: log} }

// Run imports ref and decodes it until the link or ctx ends. It returns ctx.Err() when ctx
// ended, otherwise why the input stopped.
func (v *VideoInput) Run(ctx context.Context, imp Importer, ref protocol.TrackRef) error {
	return runImport(ctx, imp, ref, "video", v, v.log)
}

// Decoded returns the number of pictures decoded.
func (v *VideoInput) Decoded() uint64 { return v.decoded.Load() }

func (v *VideoInput) open(info medialink.TrackInfo, c rtpframe.Codec) error {
	var name string
	switch c {
	case rtpframe.VP8:
		name = "vp8"
	case rtpframe.H264:
		name = "h264"
	default:
		return fmt.Errorf("%w: video %s", ErrUnsupportedCodec, info.MimeType)
	}
	dec, err := codec.NewVideoDecoder(name)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnsupportedCodec, err)
	}
	v.dec, v.h264 = dec, c == rtpframe.H264
	return nil
}

func (v *VideoInput) close() { v.dec.Close() }

func (v *VideoInput) frame(f rtpframe.Frame) bool {
	data := f.Data
	if v.h264 {
		data = v.toAnnexB(f.Data)
	}
	img, err := v.dec.Decode(data)
	if err != nil {
		v.errors.Add(1)
		return false
	}
	if img == nil {
		return true
	}
	v.decoded.Add(1)
	v.mu.Lock()
	v.pic = img // the decoder hands over its picture (codec.VideoDecoder contract)
	v.mu.Unlock()
	return true
}

// toAnnexB rewrites an AVCC access unit (4-byte lengths, as rtpframe emits) with start codes.
func (v *VideoInput) toAnnexB(avcc []byte) []byte {
	out := v.annexB[:0]
	for len(avcc) >= 4 {
		n := int(binary.BigEndian.Uint32(avcc))
		if n > len(avcc)-4 {
			break
		}
		out = append(out, 0, 0, 0, 1)
		out = append(out, avcc[4:4+n]...)
		avcc = avcc[4+n:]
	}
	v.annexB = out
	return out
}

// Draw scales the latest picture into r of dst; it reports false when there is none yet.
func (v *VideoInput) Draw(dst *yuv.Image, r yuv.Rect, fit string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.pic == nil {
		return false
	}
	yuv.Draw(dst, r, v.pic, fit)
	return true
}

// Size returns the latest picture's size (ok false before the first picture).
func (v *VideoInput) Size() (w, h int, ok bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.pic == nil {
		return 0, 0, false
	}
	return v.pic.Width, v.pic.Height, true
}
