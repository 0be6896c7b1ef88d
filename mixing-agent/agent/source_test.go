package agent

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/mixing-agent/codec"
	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// source is the test's "webrtc agent": a media-link exporter of synthetic tracks, solid
// colour VP8 video and Opus sine tones, generated in real time with the codec package.
type source struct {
	mu     sync.Mutex
	tracks map[string]*srcTrack

	exports atomic.Int64 // links attached
}

// srcTrack is one synthetic track and the links reading it.
type srcTrack struct {
	info  medialink.TrackInfo
	mu    sync.Mutex
	links map[*medialink.Link]struct{}
	key   atomic.Bool
	// change, when set, is applied by the generator to its next frame (latency tests).
	change atomic.Pointer[srcChange]
	pk     rtp.Packetizer
	buf    []byte
}

var _ medialink.Exporter = (*source)(nil)

// srcChange switches a generator's content: a video track's colour or a tone's amplitude.
// The generator reports the wall-clock time at which the first frame carrying it was handed
// to the links.
type srcChange struct {
	color room.Color
	amp   float64
	sent  chan time.Time
}

// apply makes trackID's generator switch to ch at its next frame and returns when that
// frame was sent.
func (s *source) apply(trackID string, ch srcChange) (time.Time, error) {
	s.mu.Lock()
	tr := s.tracks[trackID]
	s.mu.Unlock()
	if tr == nil {
		return time.Time{}, errTrackNotFound(trackID)
	}
	ch.sent = make(chan time.Time, 1)
	tr.change.Store(&ch)
	select {
	case at := <-ch.sent:
		return at, nil
	case <-time.After(2 * time.Second):
		return time.Time{}, fmt.Errorf("source %s did not send its change within 2 s", trackID)
	}
}

// applied takes a pending change, if any.
func (tr *srcTrack) applied() *srcChange { return tr.change.Swap(nil) }

// retry keeps a change whose frame could not be encoded for the next frame (the content
// already switched).
func (tr *srcTrack) retry(ch *srcChange) {
	if ch != nil {
		tr.change.CompareAndSwap(nil, ch)
	}
}

// sentAt reports a change's frame as handed to the links at at (taken before the first
// packet is written, so that a consumer can never see it earlier).
func (ch *srcChange) sentAt(at time.Time) {
	if ch != nil {
		ch.sent <- at
	}
}

func newSource() *source { return &source{tracks: map[string]*srcTrack{}} }

// Export implements medialink.Exporter.
func (s *source) Export(trackID string, l *medialink.Link) (medialink.Export, error) {
	s.mu.Lock()
	t := s.tracks[trackID]
	s.mu.Unlock()
	if t == nil {
		return medialink.Export{}, errTrackNotFound(trackID)
	}
	s.exports.Add(1)
	t.mu.Lock()
	t.links[l] = struct{}{}
	t.mu.Unlock()
	t.key.Store(true)
	return medialink.Export{Info: t.info, Keyframe: func() { t.key.Store(true) },
		Detach: func() { t.mu.Lock(); delete(t.links, l); t.mu.Unlock() }}, nil
}

// linkCount returns the number of links attached to trackID now.
func (s *source) linkCount(trackID string) int {
	s.mu.Lock()
	t := s.tracks[trackID]
	s.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.links)
}

// kill closes every link of trackID (the publisher's transport died).
func (s *source) kill(trackID string) {
	s.mu.Lock()
	t := s.tracks[trackID]
	s.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	for l := range t.links {
		l.Close("publisher left")
	}
}

func (s *source) add(t testing.TB, id string, info medialink.TrackInfo, pay rtp.Payloader, pt uint8) *srcTrack {
	info.TrackID = id
	tr := &srcTrack{info: info, links: map[*medialink.Link]struct{}{}, buf: make([]byte, 1500),
		pk: rtp.NewPacketizer(1200, pt, uint32(len(id))*7919+1, pay, rtp.NewRandomSequencer(), info.ClockRate)}
	s.mu.Lock()
	s.tracks[id] = tr
	s.mu.Unlock()
	return tr
}

// send packetizes one frame to every link.
func (tr *srcTrack) send(frame []byte, samples uint32) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, p := range tr.pk.Packetize(frame, samples) {
		n, err := p.MarshalTo(tr.buf)
		if err != nil {
			continue
		}
		for l := range tr.links {
			l.SendRTP(tr.buf[:n])
		}
	}
}

// addVideo adds a VP8 track of a solid colour, w×h at fps, running until ctx ends. With
// moving, the luma is a moving diagonal gradient instead (realistic encoder load).
func (s *source) addVideo(t testing.TB, ctx context.Context, wg *sync.WaitGroup, id string, c room.Color, w, h, fps int, moving bool) {
	tr := s.add(t, id, medialink.TrackInfo{Kind: "video", MimeType: "video/VP8", ClockRate: 90000},
		&codecs.VP8Payloader{EnablePictureID: true}, 96)
	enc, err := codec.NewVideoEncoder(codec.VideoEncoderConfig{Codec: "vp8", Width: w, Height: h, Framerate: fps,
		BitrateKbps: 200, KeyFrameInterval: 10 * fps})
	if err != nil {
		t.Fatal(err)
	}
	img := yuv.NewImage(w, h)
	img.Fill(c)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer enc.Close()
		tick := time.NewTicker(time.Second / time.Duration(fps))
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			ch := tr.applied()
			if ch != nil {
				img.Fill(ch.color)
			}
			if moving {
				gradient(img, n)
			}
			frame, _, err := enc.Encode(img, tr.key.Swap(false))
			if err != nil {
				tr.retry(ch)
				continue
			}
			at := time.Now()
			tr.send(frame, uint32(90000/fps))
			ch.sentAt(at)
		}
	}()
}

// addTone adds a mono-content Opus track (sent as stereo) of a sine at freq Hz with peak amp.
func (s *source) addTone(t testing.TB, ctx context.Context, wg *sync.WaitGroup, id string, freq, amp float64) {
	tr := s.add(t, id, medialink.TrackInfo{Kind: "audio", MimeType: "audio/opus", ClockRate: 48000, Channels: 2},
		&codecs.OpusPayloader{}, 111)
	enc, err := codec.NewOpusEncoder(2, 64000)
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer enc.Close()
		pcm := make([]int16, 960*2)
		out := make([]byte, 1500)
		var n int
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			ch := tr.applied()
			if ch != nil {
				amp = ch.amp
			}
			for i := range 960 {
				v := int16(amp * math.Sin(2*math.Pi*freq*float64(n)/48000))
				pcm[2*i], pcm[2*i+1] = v, v
				n++
			}
			m, err := enc.Encode(pcm, out)
			if err != nil {
				tr.retry(ch)
				continue
			}
			at := time.Now()
			tr.send(out[:m], 960)
			ch.sentAt(at)
		}
	}()
}

// sourceExport answers rtc.export for the source's tracks on the bus.
func sourceExport(srv *medialink.Server, trackID string) (any, error) {
	ticket, err := srv.Issue(trackID)
	if err != nil {
		return nil, errs.Unexpected(err.Error())
	}
	return map[string]string{"address": srv.Addr(), "ticket": ticket}, nil
}

// gradient paints a diagonal luma gradient shifted by frame n.
func gradient(img *yuv.Image, n int) {
	for y := range img.Height {
		row := img.Y[y*img.YStride : y*img.YStride+img.Width]
		for x := range row {
			row[x] = byte(16 + (x+y+4*n)%200)
		}
	}
}
