package agent

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/common/rtpframe"
	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
)

// Latency measurement settings: changes per track, the longest wait for one change to show
// up (a failure, not a threshold on the figure), and the tone the audio changes switch.
const (
	latencyChanges = 20
	latencyTimeout = 3 * time.Second
	probeTone      = 1500.0 // Hz, a Goertzel bin centre for 960 samples (50 Hz bins)
	probeAmp       = 8000.0
	otherAmp       = 3000.0
)

// latencyProbe is a consumer that evaluates a condition on every decoded frame, in the link's
// reader goroutine right after the decode, and reports the first time it holds.
type latencyProbe struct {
	*consumer
	watch atomic.Pointer[probeWatch]
}

// probeWatch is one awaited condition, evaluated with the consumer's lock held.
type probeWatch struct {
	ok   func(c *consumer) bool
	seen chan time.Time
}

// probe imports trackID from the mixing agent like consume does, watching each decoded frame.
func (h *harness) probe(t *testing.T, trackID string) *latencyProbe {
	t.Helper()
	var res protocol.RTCExportResult
	if err := h.call(protocol.MethodRTCExport, protocol.RTCExport{TrackID: trackID}, &res); err != nil {
		t.Fatalf("rtc.export %s: %v", trackID, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	link, info, err := medialink.Dial(ctx, res.Address, res.Ticket, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := &latencyProbe{consumer: &consumer{link: link, info: info, done: make(chan struct{}),
		ssrcs: map[uint32]bool{}, tsSteps: map[uint32]int{}}}
	rc, err := rtpframe.CodecOf(info.MimeType)
	if err != nil {
		link.Close("test")
		t.Fatal(err)
	}
	handle, closeDec := p.decoder(t, rc, link)
	var decoded int
	go func() {
		defer close(p.done)
		defer closeDec()
		_ = link.Run(context.Background(), func(typ medialink.FrameType, payload []byte) {
			handle(typ, payload)
			p.mu.Lock()
			n := p.frames
			if rc == rtpframe.Opus {
				n = p.packets // one 20 ms frame per packet
			}
			w := p.watch.Load()
			hit := n != decoded && w != nil && w.ok(p.consumer)
			p.mu.Unlock()
			decoded = n
			if hit && p.watch.CompareAndSwap(w, nil) {
				w.seen <- time.Now()
			}
		})
	}()
	t.Cleanup(p.close)
	return p
}

// await arms ok, runs change (which returns when the source sent the change) and returns the
// time from that send to the first decoded frame satisfying ok.
func (p *latencyProbe) await(ok func(*consumer) bool, change func() (time.Time, error)) (time.Duration, error) {
	w := &probeWatch{ok: ok, seen: make(chan time.Time, 1)}
	p.watch.Store(w)
	defer p.watch.CompareAndSwap(w, nil)
	t0, err := change()
	if err != nil {
		return 0, err
	}
	select {
	case seen := <-w.seen:
		return seen.Sub(t0), nil
	case <-time.After(latencyTimeout):
		return 0, fmt.Errorf("change not seen by the consumer within %v", latencyTimeout)
	}
}

// colourSteps switches srcTrack between two colours latencyChanges times; each change is seen
// when rect of the consumer's picture is nearer the new colour than the old one.
func colourSteps(h *harness, p *latencyProbe, srcTrack string, rect func(*yuv.Image) yuv.Rect) ([]time.Duration, error) {
	colours := [2]room.Color{blue, red}
	var lat []time.Duration
	for i := range latencyChanges {
		to, from := colours[i%2], colours[(i+1)%2]
		d, err := p.await(func(c *consumer) bool {
			img := c.pic
			return img != nil && nearer(img, rect(img), to, from)
		}, func() (time.Time, error) { return h.src.apply(srcTrack, srcChange{color: to}) })
		if err != nil {
			return lat, fmt.Errorf("change %d (to %v): %w", i, to, err)
		}
		lat = append(lat, d)
		// Let the picture settle on the new colour, then start the next change at a random
		// phase of the output frame interval (24 fps).
		time.Sleep(80*time.Millisecond + rand.N(42*time.Millisecond))
	}
	return lat, nil
}

// toneOnsets switches srcTrack's tone on latencyChanges times: an onset is seen when the
// newest 20 ms of decoded audio hold the tone at a sixteenth of its power or more; each is
// followed by silence (not timed) seen below a thousandth.
func toneOnsets(h *harness, p *latencyProbe, srcTrack string) ([]time.Duration, error) {
	full := probeAmp * probeAmp / 4 // goertzel of a bin-centred sine of that peak
	power := func(c *consumer) float64 {
		if len(c.pcm) < 960 {
			return 0
		}
		return goertzel(c.pcm[len(c.pcm)-960:], probeTone)
	}
	var lat []time.Duration
	for i := range latencyChanges {
		if _, err := p.await(func(c *consumer) bool { return power(c) < full/1000 },
			func() (time.Time, error) { return h.src.apply(srcTrack, srcChange{amp: 0}) }); err != nil {
			return lat, fmt.Errorf("silence %d: %w", i, err)
		}
		time.Sleep(60 * time.Millisecond)
		d, err := p.await(func(c *consumer) bool { return power(c) >= full/16 },
			func() (time.Time, error) { return h.src.apply(srcTrack, srcChange{amp: probeAmp}) })
		if err != nil {
			return lat, fmt.Errorf("tone onset %d: %w", i, err)
		}
		lat = append(lat, d)
		time.Sleep(60 * time.Millisecond)
	}
	return lat, nil
}

// nearer reports whether the mean colour of rect in img is nearer to c than to other.
func nearer(img *yuv.Image, rect yuv.Rect, c, other room.Color) bool {
	y, u, v := yuv.MeanColor(img, rect)
	dist := func(c room.Color) float64 {
		ey, eu, ev := yuv.RGBToYUV(c.R, c.G, c.B)
		return math.Hypot(math.Hypot(y-float64(ey), u-float64(eu)), v-float64(ev))
	}
	return dist(c) < dist(other)
}

// measurePair runs the video and audio measurements at once (independent tracks) and fails
// the test if either change never showed up.
func measurePair(t *testing.T, video, audio func() ([]time.Duration, error)) (v, a []time.Duration) {
	t.Helper()
	var wg sync.WaitGroup
	var verr, aerr error
	wg.Go(func() { v, verr = video() })
	wg.Go(func() { a, aerr = audio() })
	wg.Wait()
	if verr != nil || aerr != nil {
		t.Fatalf("video: %v; audio: %v", verr, aerr)
	}
	return v, a
}

// summary formats p50/p95/max of ds in milliseconds.
func summary(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) float64 {
		return float64(s[min(len(s)-1, max(0, int(math.Ceil(q*float64(len(s))))-1))]) / float64(time.Millisecond)
	}
	series := make([]string, len(ds))
	for i, d := range ds {
		series[i] = fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("p50 %.1f / p95 %.1f / max %.1f ms (min %.1f, n %d; in order: %s)",
		at(0.5), at(0.95), at(1), at(0), len(s), strings.Join(series, " "))
}

// TestMixLatency measures the latency the mixing agent adds, from a source frame leaving the
// source's media link to the first decoded output frame showing it: a colour change of one
// input of a 4-input 640x480@24 view (and of a VP8 → VP8 transcode), and a tone onset in the
// mixed audio (and through an Opus transcode). Figures are logged, not asserted; the test
// fails only if a change never shows up.
func TestMixLatency(t *testing.T) {
	h := newHarness(t, Config{})
	// Inputs at 30 fps against the view's 24: the phase between a source frame and the
	// compositor's tick sweeps, as with real cameras.
	const srcFPS = 30
	var inputs []protocol.MixInput
	for i, c := range []room.Color{red, green, white, green} {
		id := fmt.Sprintf("s%d", i)
		amp := otherAmp
		if i == 0 {
			amp = 0 // the probe tone, switched on by the measurement
		}
		h.src.addVideo(t, h.ctx, h.wg, id+"-video", c, 320, 240, srcFPS, false)
		h.src.addTone(t, h.ctx, h.wg, id+"-audio", []float64{probeTone, 300, 450, 600}[i], amp)
		inputs = append(inputs, protocol.MixInput{StreamID: id, Audio: srcTrackRef(id+"-audio", "opus"),
			Video: srcTrackRef(id+"-video", "vp8")})
	}
	view := mixView(vw, vh)
	st := h.startMix(t, view, inputs)
	region := regionOf(t, st.Layout, "s0")
	video, audio := h.probe(t, mixID+"-video"), h.probe(t, mixID+"-audio")
	regionPx := func(img *yuv.Image) yuv.Rect { return regionRect(t, region, img.Width, img.Height, 8) }
	video.waitPicture(t, "s0 red in its region", 10*time.Second, func(img *yuv.Image) bool {
		return colorNear(img, regionPx(img), red, 14)
	})

	f0, w0 := h.mixFrames(), time.Now()
	v, a := measurePair(t,
		func() ([]time.Duration, error) { return colourSteps(h, video, "s0-video", regionPx) },
		func() ([]time.Duration, error) { return toneOnsets(h, audio, "s0-audio") })
	fps := float64(h.mixFrames()-f0) / time.Since(w0).Seconds()
	interval := time.Second / time.Duration(view.Video.Parameters.Framerate)
	t.Logf("mixer frame interval %.1f ms (%d fps configured, %.1f fps encoded during the run); audio clock 20 ms",
		float64(interval)/float64(time.Millisecond), view.Video.Parameters.Framerate, fps)
	t.Logf("mixed view 640x480@24 VP8, 4 inputs 320x240@%d VP8: colour change → first decoded mixed picture: %s", srcFPS, summary(v))
	t.Logf("mixed audio Opus, 4 inputs: tone onset → first decoded mixed 20 ms frame holding it: %s", summary(a))
	// The picture ends on the last colour applied (changes alternate blue, red; 20 → red).
	video.waitPicture(t, "s0 back to red", 5*time.Second, func(img *yuv.Image) bool {
		return colorNear(img, regionPx(img), red, 14)
	})
	video.close()
	audio.close()
	if err := h.call(protocol.MethodMixStop, protocol.SessionStop{ID: mixID}, nil); err != nil {
		t.Fatal(err)
	}

	// The same through transcodes of s0: VP8 320x240@30 → VP8 160x120@24, Opus stereo → mono.
	var xv, xa protocol.XcodeStarted
	if err := h.call(protocol.MethodXcodeStart, protocol.XcodeStart{ID: "xv", RoomID: "room1", Controller: controller,
		Source: *srcTrackRef("s0-video", "vp8"), Format: protocol.Format{Codec: "vp8"},
		Parameters: &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: 160, Height: 120}, Framerate: 24}}, &xv); err != nil {
		t.Fatalf("xcode.start video: %v", err)
	}
	if err := h.call(protocol.MethodXcodeStart, protocol.XcodeStart{ID: "xa", RoomID: "room1", Controller: controller,
		Source: *srcTrackRef("s0-audio", "opus"), Format: protocol.Format{Codec: "opus", SampleRate: 48000, ChannelNum: 1}}, &xa); err != nil {
		t.Fatalf("xcode.start audio: %v", err)
	}
	xvideo, xaudio := h.probe(t, xv.Track.ID), h.probe(t, xa.Track.ID)
	whole := func(img *yuv.Image) yuv.Rect { return yuv.Rect{X: 8, Y: 8, W: img.Width - 16, H: img.Height - 16} }
	xvideo.waitPicture(t, "transcoded red picture", 10*time.Second, func(img *yuv.Image) bool {
		return img.Width == 160 && colorNear(img, whole(img), red, 14)
	})
	v, a = measurePair(t,
		func() ([]time.Duration, error) { return colourSteps(h, xvideo, "s0-video", whole) },
		func() ([]time.Duration, error) { return toneOnsets(h, xaudio, "s0-audio") })
	t.Logf("transcode VP8 320x240@30 → VP8 160x120@24 (frame interval 41.7 ms): colour change → first decoded picture: %s", summary(v))
	t.Logf("transcode Opus stereo → mono (per source frame, no clock): tone onset → first decoded frame holding it: %s", summary(a))
}
