package e2e

import (
	"context"
	bin "encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/ivfwriter"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
)

// Media helpers of the mixing test: publishers of solid colours and pure tones made with
// ffmpeg, and a capture of a subscribed stream decoded back with ffmpeg.

// rgb is a colour.
type rgb [3]float64

// near reports whether two colours are within tol on every component.
func (c rgb) near(o rgb, tol float64) bool {
	for i := range c {
		if math.Abs(c[i]-o[i]) > tol {
			return false
		}
	}
	return true
}

// ffmpegClip renders an ffmpeg lavfi source into a file of ext and returns its bytes.
func ffmpegClip(t *testing.T, source string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "clip")
	full := append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", source}, args...)
	full = append(full, path)
	if out, err := exec.CommandContext(ctx, "ffmpeg", full...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", source, err, out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// colourTracks returns an Opus track playing a sine of hz and a VP8 track showing one solid
// colour (ffmpeg colour name), both looping until the test ends; the video answers keyframe
// requests.
func colourTracks(t *testing.T, colour string, hz int) []webrtc.TrackLocal {
	t.Helper()
	ivf := ffmpegClip(t, "color=c="+colour+":s=320x240:r=15:d=2",
		"-c:v", "libvpx", "-b:v", "300k", "-g", "15", "-deadline", "realtime", "-f", "ivf")
	ogg := ffmpegClip(t, fmt.Sprintf("sine=frequency=%d:sample_rate=48000:duration=2", hz),
		"-ac", "2", "-c:a", "libopus", "-b:a", "64k", "-frame_duration", "20", "-page_duration", "20000", "-f", "ogg")
	v, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", colour)
	if err != nil {
		t.Fatal(err)
	}
	a, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", colour)
	if err != nil {
		t.Fatal(err)
	}
	vsrc, err := media.NewClipSource(v, webrtc.MimeTypeVP8, ivf, 15)
	if err != nil {
		t.Fatal(err)
	}
	asrc, err := media.NewClipSource(a, webrtc.MimeTypeOpus, ogg, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, src := range []*media.Source{vsrc, asrc} {
		wg.Go(func() { _ = src.Run(ctx) })
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	return []webrtc.TrackLocal{a, participant.KeyframeClip{TrackLocalStaticSample: v, Source: vsrc}}
}

// capture is what a subscriber received of a stream, written to files.
type capture struct {
	video, audio string // IVF and Ogg files ("" when the kind was not received)
}

// captureStream subscribes stream with opts for d and writes what arrives to files.
func captureStream(ctx context.Context, t *testing.T, c *rtc.Client, stream protocol.StreamInfo, opts rtc.SubscribeOptions, d time.Duration) capture {
	t.Helper()
	dir := t.TempDir()
	out := capture{video: filepath.Join(dir, "video.ivf"), audio: filepath.Join(dir, "audio.ogg")}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		stopped bool
	)
	stop := make(chan struct{})
	opts.OnTrack = func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		mu.Lock() // a track arriving after the capture ended is ignored
		if stopped {
			mu.Unlock()
			return
		}
		wg.Add(1)
		mu.Unlock()
		defer wg.Done()
		var w interface {
			WriteRTP(*rtp.Packet) error
			Close() error
		}
		var err error
		switch strings.ToLower(tr.Codec().MimeType) {
		case "video/vp8":
			w, err = ivfwriter.New(out.video, ivfwriter.WithCodec(webrtc.MimeTypeVP8))
		case "audio/opus":
			w, err = oggwriter.New(out.audio, 48000, 2)
		default:
			t.Errorf("unexpected track %s", tr.Codec().MimeType)
			return
		}
		if err != nil {
			t.Error(err)
			return
		}
		defer w.Close()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = tr.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			p, _, err := tr.ReadRTP()
			// pion's deadline error is a net.Error timeout, not os.ErrDeadlineExceeded.
			var ne net.Error
			if errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if err != nil {
				return
			}
			_ = w.WriteRTP(p)
		}
	}
	sub, err := c.Subscribe(ctx, stream, opts)
	if err != nil {
		t.Fatalf("subscribe %s: %v", stream.ID, err)
	}
	if _, err := sub.WaitTrack(ctx, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatalf("no video of %s: %v", stream.ID, err)
	}
	time.Sleep(d)
	mu.Lock()
	stopped = true
	mu.Unlock()
	close(stop)
	wg.Wait()
	_ = sub.Close()
	return out
}

// lastFrame decodes a video file and returns its last picture scaled to w×h RGB, and the
// size of the last decoded picture.
func lastFrame(t *testing.T, path string, w, h int) (pix []byte, codedW, codedH int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The size of the decoded pictures (an IVF header's size is only what the writer assumed).
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "frame=width,height", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	lines := strings.Fields(strings.TrimSpace(string(out)))
	if len(lines) == 0 {
		t.Fatalf("ffprobe %s: no decoded frame", path)
	}
	if _, err := fmt.Sscanf(lines[len(lines)-1], "%d,%d", &codedW, &codedH); err != nil {
		t.Fatalf("ffprobe %s size %q: %v", path, lines[len(lines)-1], err)
	}
	raw, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
		"-i", path, "-vf", "scale="+strconv.Itoa(w)+":"+strconv.Itoa(h), "-pix_fmt", "rgb24", "-f", "rawvideo", "-").Output()
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	size := w * h * 3
	if len(raw) < size {
		t.Fatalf("decode %s: %d bytes, no complete frame", path, len(raw))
	}
	frames := len(raw) / size
	t.Logf("%s: %d decoded frames, coded %dx%d", filepath.Base(path), frames, codedW, codedH)
	return raw[(frames-1)*size : frames*size], codedW, codedH
}

// meanRGB is the mean colour of the centre half of a rectangle (fractions of the picture).
func meanRGB(pix []byte, w, h int, left, top, width, height float64) rgb {
	x0, x1 := int((left+width/4)*float64(w)), int((left+3*width/4)*float64(w))
	y0, y1 := int((top+height/4)*float64(h)), int((top+3*height/4)*float64(h))
	var sum rgb
	n := 0
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			i := (y*w + x) * 3
			for k := range 3 {
				sum[k] += float64(pix[i+k])
			}
			n++
		}
	}
	if n == 0 {
		return sum
	}
	for k := range sum {
		sum[k] /= float64(n)
	}
	return sum
}

// decodePCM decodes an audio file to mono 48 kHz samples.
func decodePCM(t *testing.T, path string) []float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	raw, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
		"-i", path, "-ac", "1", "-ar", "48000", "-f", "s16le", "-").Output()
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	pcm := make([]float64, len(raw)/2)
	for i := range pcm {
		pcm[i] = float64(int16(bin.LittleEndian.Uint16(raw[2*i:])))
	}
	return pcm
}

// toneLevel is the Goertzel magnitude of hz in pcm (48 kHz), normalised by the length.
func toneLevel(pcm []float64, hz float64) float64 {
	if len(pcm) == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*hz/48000)
	var s1, s2 float64
	for _, x := range pcm {
		s1, s2 = x+coeff*s1-s2, s1
	}
	return math.Sqrt(s1*s1+s2*s2-coeff*s1*s2) / float64(len(pcm))
}
