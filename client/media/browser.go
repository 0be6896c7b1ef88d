package media

import (
	_ "embed" // the ramp clips
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/rtpframe"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
)

// A browser does not send what pion's sample tracks send. Chromium starts its camera small
// and raises the resolution as its bandwidth estimate grows (each step at a keyframe), puts
// 15-bit picture IDs in VP8 payload descriptors, probes the bandwidth with padding-only
// packets in the media's sequence space (when RTX is not negotiated), and loses packets on
// real networks. BrowserTrack sends video that way, so that the server's frame assembly
// (common/rtpframe: recording, mixing, streaming-out) meets in Go tests and `conclave load`
// what it meets with browsers.

// The embedded ramp clips (same testsrc picture as the 320x240 clips, ffmpeg):
//
//	vp8-480x360.ivf, h264-480x360.h264: 1 s, 30 fps, one keyframe
//	vp8-640x480.ivf, h264-640x480.h264: 2 s, 30 fps, keyframes at 0 and 30
var (
	//go:embed testdata/vp8-480x360.ivf
	vp8Clip480 []byte
	//go:embed testdata/vp8-640x480.ivf
	vp8Clip640 []byte
	//go:embed testdata/h264-480x360.h264
	h264Clip480 []byte
	//go:embed testdata/h264-640x480.h264
	h264Clip640 []byte
)

// BrowserOptions say how browser-like a BrowserTrack is.
type BrowserOptions struct {
	// Padding sends padding-only probes: bursts of 2–4 packets every 100 ms during the
	// first 5 s (the bandwidth ramp-up), then a burst every 2 s.
	Padding bool
	// Loss is the fraction of media packets lost on the way (0–1). They are never sent, so
	// NACKs cannot repair them: the receiver must ask for a keyframe.
	Loss float64
	// Seed makes the losses repeatable (0: a fixed default).
	Seed uint64
}

// BrowserStats count what a BrowserTrack sent.
type BrowserStats struct {
	Frames, Packets, Padding, Lost int64
	Width, Height                  int // of the latest keyframe
}

// BrowserTrack is a video track fed by a clip that ramps 320x240 → 480x360 → 640x480 (then
// loops the largest), packetized like Chromium. It implements webrtc.TrackLocal (publish
// it) and client.KeyframeRequester (PLIs make the clip jump to its next keyframe). Run its
// Source to send.
type BrowserTrack struct {
	*webrtc.TrackLocalStaticRTP
	src   *Source
	codec codec
	opts  BrowserOptions

	mu      sync.Mutex
	rnd     *rand.Rand
	seq     uint16
	ts      uint32
	pid     uint16
	started time.Time
	probed  time.Time // last padding burst
	h264    codecs.H264Payloader
	st      BrowserStats
}

// NewBrowserTrack returns a browser-like video track of mimeType (video/VP8 or video/H264).
func NewBrowserTrack(mimeType string, opts BrowserOptions) (*BrowserTrack, error) {
	c := codecOf(mimeType)
	caps := webrtc.RTPCodecCapability{MimeType: mimeType, ClockRate: videoClockRate}
	var clips []func() (frameReader, error)
	switch c {
	case codecVP8:
		for _, clip := range [][]byte{vp8Clip, vp8Clip480, vp8Clip640} {
			clips = append(clips, func() (frameReader, error) { return newIVFFrames(clip) })
		}
	case codecH264:
		caps.SDPFmtpLine = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
		for _, clip := range [][]byte{h264Clip, h264Clip480, h264Clip640} {
			clips = append(clips, func() (frameReader, error) { return newH264Frames(clip, ClipFrameRate) })
		}
	default:
		return nil, fmt.Errorf("%w: %s (browser-like video is VP8 or H.264)", ErrUnsupportedCodec, mimeType)
	}
	if opts.Loss < 0 || opts.Loss >= 1 {
		return nil, fmt.Errorf("media: browser track: loss %v outside [0, 1)", opts.Loss)
	}
	tr, err := webrtc.NewTrackLocalStaticRTP(caps, "video", "browser")
	if err != nil {
		return nil, fmt.Errorf("media: browser track: %w", err)
	}
	seed := opts.Seed
	if seed == 0 {
		seed = 0xC0C1A7E
	}
	b := &BrowserTrack{TrackLocalStaticRTP: tr, codec: c, opts: opts, rnd: rand.New(rand.NewPCG(seed, seed>>1|1)),
		seq: uint16(seed), ts: uint32(seed >> 16), pid: uint16(seed>>8) & 0x7FFF}
	b.src = &Source{w: b, video: true, open: func() (frameReader, error) { return &rampFrames{clips: clips}, nil }}
	return b, nil
}

// Source is the clip player feeding the track; run it to send.
func (b *BrowserTrack) Source() *Source { return b.src }

// RequestKeyframe implements client.KeyframeRequester.
func (b *BrowserTrack) RequestKeyframe() { b.src.RequestKeyframe() }

// Stats returns what was sent so far.
func (b *BrowserTrack) Stats() BrowserStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.st
}

// WriteSample packetizes one frame (the Source's SampleWriter), then maybe probes.
func (b *BrowserTrack) WriteSample(s pionmedia.Sample) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if b.started.IsZero() {
		b.started = now
	}
	payloads := b.packetize(s.Data)
	b.st.Frames++
	for i, p := range payloads {
		if b.opts.Loss > 0 && b.rnd.Float64() < b.opts.Loss {
			b.seq++ // lost on the way: a gap in the sequence numbers
			b.st.Lost++
			continue
		}
		if err := b.write(rtp.Header{Marker: i == len(payloads)-1}, p); err != nil {
			return err
		}
		b.st.Packets++
	}
	b.pid = (b.pid + 1) & 0x7FFF
	err := b.probe(now)
	b.ts += uint32(s.Duration.Seconds() * videoClockRate)
	return err
}

// probe sends a burst of padding-only packets when one is due; they carry the timestamp of
// the frame just sent, as Chromium's do.
func (b *BrowserTrack) probe(now time.Time) error {
	if !b.opts.Padding {
		return nil
	}
	every := 2 * time.Second
	if now.Sub(b.started) < 5*time.Second {
		every = 100 * time.Millisecond
	}
	if now.Sub(b.probed) < every {
		return nil
	}
	b.probed = now
	for range 2 + b.rnd.IntN(3) {
		if err := b.write(rtp.Header{Padding: true, PaddingSize: 224}, nil); err != nil {
			return err
		}
		b.st.Padding++
	}
	return nil
}

// write sends one packet with the next sequence number.
func (b *BrowserTrack) write(h rtp.Header, payload []byte) error {
	h.Version, h.SequenceNumber, h.Timestamp = 2, b.seq, b.ts
	b.seq++
	if err := b.WriteRTP(&rtp.Packet{Header: h, Payload: payload}); err != nil {
		return fmt.Errorf("media: browser track: %w", err)
	}
	return nil
}

// packetize splits a frame as Chromium does and notes a keyframe's size.
func (b *BrowserTrack) packetize(frame []byte) [][]byte {
	if b.codec == codecH264 {
		for _, nal := range rtpframe.SplitAnnexB(frame) {
			if w, h, err := rtpframe.SPSDimensions(nal); err == nil {
				b.st.Width, b.st.Height = w, h
			}
		}
		return b.h264.Payload(browserMTU, frame)
	}
	if w, h, ok := rtpframe.VP8Dimensions(frame); ok {
		b.st.Width, b.st.Height = w, h
	}
	var out [][]byte
	for off := 0; off < len(frame); off += browserMTU - 4 {
		d := []byte{0x80, 0x80} // X, I: a 15-bit picture ID
		if off == 0 {
			d[0] |= 0x10 // S, partition 0
		}
		d = binary.BigEndian.AppendUint16(d, 0x8000|b.pid)
		out = append(out, append(d, frame[off:min(off+browserMTU-4, len(frame))]...))
	}
	return out
}

// browserMTU is the RTP payload size Chromium uses (about 1200 bytes with its headers).
const browserMTU = 1180

// rampFrames plays clips one after the other and then loops the last one.
type rampFrames struct {
	clips []func() (frameReader, error)
	i     int
	cur   frameReader
}

func (r *rampFrames) next() (frame, error) {
	for {
		if r.cur == nil {
			c, err := r.clips[r.i]()
			if err != nil {
				return frame{}, err
			}
			r.cur = c
		}
		f, err := r.cur.next()
		if err == nil {
			return f, nil
		}
		r.cur = nil
		if !errors.Is(err, io.EOF) {
			return frame{}, err
		}
		r.i = min(r.i+1, len(r.clips)-1)
	}
}
