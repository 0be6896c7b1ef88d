package media

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pion/webrtc/v4/pkg/media/h264reader"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
)

// frame is one encoded frame (Opus packet, VP8 frame, H.264 access unit).
type frame struct {
	data   []byte
	dur    time.Duration
	key    bool
	forced bool // a keyframe sent early on request (Source)
}

// frameReader yields a clip's frames; io.EOF ends the clip.
type frameReader interface {
	next() (frame, error)
}

// ivfFrames reads VP8 frames from an IVF file.
type ivfFrames struct {
	r   *ivfreader.IVFReader
	dur time.Duration
}

func newIVFFrames(clip []byte) (frameReader, error) {
	r, h, err := ivfreader.NewWith(bytes.NewReader(clip))
	if err != nil {
		return nil, fmt.Errorf("media: ivf: %w", err)
	}
	if h.TimebaseDenominator == 0 || h.TimebaseNumerator == 0 {
		return nil, fmt.Errorf("media: ivf: %w", ErrBadClip)
	}
	return &ivfFrames{r: r, dur: time.Second * time.Duration(h.TimebaseNumerator) / time.Duration(h.TimebaseDenominator)}, nil
}

func (f *ivfFrames) next() (frame, error) {
	data, _, err := f.r.ParseNextFrame()
	if err != nil {
		return frame{}, eofOr(err)
	}
	return frame{data: data, dur: f.dur, key: len(data) > 0 && data[0]&0x01 == 0}, nil
}

// h264Frames groups Annex-B NAL units into access units: a picture starts at a slice
// whose first_mb_in_slice is 0 (ue(v) 0 is the single bit 1), and the parameter sets /
// SEI in front of it belong to it.
type h264Frames struct {
	r       *h264reader.H264Reader
	dur     time.Duration
	pending []byte // non-VCL NALs waiting for their picture
	cur     []byte // the picture being assembled
	curKey  bool
	done    bool
}

func newH264Frames(clip []byte, fps int) (frameReader, error) {
	r, err := h264reader.NewReader(bytes.NewReader(clip))
	if err != nil {
		return nil, fmt.Errorf("media: h264: %w", err)
	}
	return &h264Frames{r: r, dur: time.Second / time.Duration(fps)}, nil
}

var annexBStart = []byte{0, 0, 0, 1}

func (f *h264Frames) next() (frame, error) {
	for !f.done {
		nal, err := f.r.NextNAL()
		if errors.Is(err, io.EOF) {
			f.done = true
			break
		}
		if err != nil {
			return frame{}, fmt.Errorf("media: h264: %w", err)
		}
		if out, ok := f.add(nal); ok {
			return out, nil
		}
	}
	if f.cur == nil {
		return frame{}, io.EOF
	}
	out := frame{data: f.cur, dur: f.dur, key: f.curKey}
	f.cur = nil
	return out, nil
}

// add takes one NAL and returns the finished access unit when nal begins the next one:
// a first slice, or an SEI/SPS/PPS/AUD after the current picture's slices.
func (f *h264Frames) add(nal *h264reader.NAL) (frame, bool) {
	typ := nal.UnitType
	vcl := typ >= h264reader.NalUnitTypeCodedSliceNonIdr && typ <= h264reader.NalUnitTypeCodedSliceIdr
	firstSlice := vcl && len(nal.Data) > 1 && nal.Data[1]&0x80 != 0
	prefix := typ >= h264reader.NalUnitTypeSEI && typ <= h264reader.NalUnitTypeAUD
	var out frame
	finished := false
	if f.cur != nil && (firstSlice || prefix) {
		out, finished = frame{data: f.cur, dur: f.dur, key: f.curKey}, true
		f.cur, f.curKey = nil, false
	}
	if !vcl {
		f.pending = append(append(f.pending, annexBStart...), nal.Data...)
		return out, finished
	}
	if f.cur == nil {
		f.cur, f.pending = f.pending, nil
	}
	f.cur = append(append(f.cur, annexBStart...), nal.Data...)
	f.curKey = f.curKey || typ == h264reader.NalUnitTypeCodedSliceIdr
	return out, finished
}

// oggFrames reads Opus packets from an Ogg file with one packet per page (as produced
// by ffmpeg with -page_duration 20000); durations come from each packet's TOC byte.
type oggFrames struct {
	r *oggreader.OggReader
}

func newOggFrames(clip []byte) (frameReader, error) {
	r, _, err := oggreader.NewWith(bytes.NewReader(clip))
	if err != nil {
		return nil, fmt.Errorf("media: ogg: %w", err)
	}
	return &oggFrames{r: r}, nil
}

func (f *oggFrames) next() (frame, error) {
	for {
		data, h, err := f.r.ParseNextPage()
		if err != nil {
			return frame{}, eofOr(err)
		}
		if typ, ok := h.HeaderType(data); ok && typ == oggreader.HeaderOpusTags || len(data) == 0 {
			continue
		}
		dur := OpusPacketDuration(data)
		if dur == 0 {
			return frame{}, fmt.Errorf("media: ogg: %w: bad Opus packet", ErrBadClip)
		}
		return frame{data: data, dur: dur, key: true}, nil
	}
}

// OpusPacketDuration returns the audio duration of an Opus packet from its TOC byte
// (RFC 6716 §3.1), or 0 for an invalid packet.
func OpusPacketDuration(p []byte) time.Duration {
	if len(p) == 0 {
		return 0
	}
	toc := p[0]
	config := toc >> 3
	var per time.Duration
	switch {
	case config < 12: // SILK: 10, 20, 40, 60 ms
		per = []time.Duration{10, 20, 40, 60}[config%4] * time.Millisecond
	case config < 16: // hybrid: 10, 20 ms
		per = []time.Duration{10, 20}[config%2] * time.Millisecond
	default: // CELT: 2.5, 5, 10, 20 ms
		per = []time.Duration{2500, 5000, 10000, 20000}[config%4] * time.Microsecond
	}
	switch toc & 0x03 {
	case 0:
		return per
	case 1, 2:
		return 2 * per
	}
	if len(p) < 2 || p[1]&0x3f == 0 {
		return 0
	}
	return time.Duration(p[1]&0x3f) * per
}

// eofOr maps the readers' end-of-file errors to io.EOF.
func eofOr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return io.EOF
	}
	return fmt.Errorf("media: %w", err)
}
