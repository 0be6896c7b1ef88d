package agent

import (
	"context"
	"encoding/binary"
	"log/slog"
	"math"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/common/rtpframe"
	"github.com/conclave-rtc/conclave/mixing-agent/codec"
	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
	"github.com/pion/rtp"
)

const (
	sourceAgent = "webrtc-00000000000000000001@test"
	controller  = "conf-test"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func testLogger() *slog.Logger {
	if os.Getenv("MIXING_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// harness is a mixing agent on a local bus, a source agent exporting synthetic tracks over
// a real media-link server, and a controller collecting mix events.
type harness struct {
	bus   bus.Bus
	agent *Agent
	src   *source
	ctx   context.Context // the sources' life
	wg    *sync.WaitGroup // source generators
	// stopAgent stops the agent and waits for Run to return (idempotent).
	stopAgent func()

	mu     sync.Mutex
	events []protocol.MixEvent
}

// newHarness starts everything; cfg.Host and the media-link listen address are set here.
func newHarness(t testing.TB, cfg Config) *harness {
	hub := local.NewHub(local.Config{Logger: testLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{src: newSource(), ctx: ctx, wg: &sync.WaitGroup{}, bus: local.New(hub)}
	srv, err := medialink.NewServer(medialink.Config{Secret: testSecret, Listen: "127.0.0.1:0"}, h.src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	srvDone := make(chan struct{})
	go func() { defer close(srvDone); _ = srv.Serve(ctx) }()
	srcBus := local.New(hub)
	sub, err := srcBus.Serve(sourceAgent, func(_ context.Context, req bus.Request) (any, error) {
		var r protocol.RTCExport
		if err := req.Decode(&r); err != nil || req.Method != protocol.MethodRTCExport {
			return nil, errs.BadRequest("bad request")
		}
		return sourceExport(srv, r.TrackID)
	})
	if err != nil {
		t.Fatal(err)
	}
	evSub, err := h.bus.Subscribe(protocol.MixTopic(controller), func(_ context.Context, ev bus.Event) {
		var e protocol.MixEvent
		if ev.Decode(&e) == nil {
			h.mu.Lock()
			h.events = append(h.events, e)
			h.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Host, cfg.MediaLinkListen = "test-host", "127.0.0.1:0"
	h.agent, err = New(cfg, Deps{Bus: local.New(hub), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	runDone := make(chan error, 1)
	agentCtx, stopAgent := context.WithCancel(context.Background())
	go func() { runDone <- h.agent.Run(agentCtx) }()
	select {
	case <-h.agent.Ready():
	case err := <-runDone:
		t.Fatalf("Run: %v", err)
	}
	var once sync.Once
	h.stopAgent = func() {
		once.Do(func() {
			stopAgent()
			if err := <-runDone; err != nil {
				t.Errorf("agent Run: %v", err)
			}
		})
	}
	t.Cleanup(func() {
		h.stopAgent()
		cancel()
		h.wg.Wait()
		<-srvDone
		_ = evSub.Close()
		_ = sub.Close()
	})
	return h
}

// Test colours and tones of the inputs.
var (
	red   = room.Color{R: 255}
	green = room.Color{G: 255}
	blue  = room.Color{B: 255}
	white = room.Color{R: 255, G: 255, B: 255}
)

// addInput publishes stream id: a w×h VP8 picture of colour c (black: a moving gradient)
// and a tone of freq Hz.
func (h *harness) addInput(t testing.TB, id string, c room.Color, freq float64, w, hgt, fps int) protocol.MixInput {
	h.src.addVideo(t, h.ctx, h.wg, id+"-video", c, w, hgt, fps, c == (room.Color{}))
	h.src.addTone(t, h.ctx, h.wg, id+"-audio", freq, 8000)
	return protocol.MixInput{StreamID: id, Audio: srcTrackRef(id+"-audio", "opus"), Video: srcTrackRef(id+"-video", "vp8")}
}

func srcTrackRef(id, c string) *protocol.SessionTrack {
	return &protocol.SessionTrack{Source: protocol.TrackRef{Agent: sourceAgent, TrackID: id}, Format: protocol.Format{Codec: c}}
}

func (h *harness) call(method string, req, resp any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return h.bus.Call(ctx, h.agent.ID(), method, req, resp)
}

// waitEvent polls for a mix event of typ for id accepted by match, after the first skip
// events; it returns the event and the index after it.
func (h *harness) waitEvent(t testing.TB, id, typ string, skip int, d time.Duration, match func(protocol.MixEvent) bool) (protocol.MixEvent, int) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		evs := append([]protocol.MixEvent(nil), h.events...)
		h.mu.Unlock()
		for i := skip; i < len(evs); i++ {
			if e := evs[i]; e.ID == id && e.Type == typ && (match == nil || match(e)) {
				return e, i + 1
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t.Fatalf("no %s event for %s within %v; events %+v", typ, id, d, h.events)
	return protocol.MixEvent{}, 0
}

func (h *harness) eventCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events)
}

// consumer imports one output track like a recording agent would and decodes it.
type consumer struct {
	link *medialink.Link
	info medialink.TrackInfo
	done chan struct{}

	mu      sync.Mutex
	pic     *yuv.Image
	frames  int
	keys    int
	pcm     []int16 // left channel, the latest second
	packets int
	lastSeq uint16
	seqGaps int
	ssrcs   map[uint32]bool
	firstTS uint32
	lastTS  uint32
	tsBack  int // timestamps going backwards
	tsSteps map[uint32]int
	first   time.Time
	last    time.Time
}

// consume imports trackID from the mixing agent.
func (h *harness) consume(t testing.TB, trackID string) *consumer {
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
	c := &consumer{link: link, info: info, done: make(chan struct{}), ssrcs: map[uint32]bool{}, tsSteps: map[uint32]int{}}
	rc, err := rtpframe.CodecOf(info.MimeType)
	if err != nil {
		t.Fatal(err)
	}
	handle, closeDec := c.decoder(t, rc, link)
	go func() {
		defer close(c.done)
		defer closeDec()
		_ = link.Run(context.Background(), handle)
	}()
	t.Cleanup(c.close)
	return c
}

// decoder returns the link handler for codec rc and a function freeing the decoder.
func (c *consumer) decoder(t testing.TB, rc rtpframe.Codec, link *medialink.Link) (medialink.Handler, func()) {
	dp := rtpframe.New(rc, rtpframe.Options{Keyframe: link.RequestKeyframe})
	var emit func(rtpframe.Frame)
	var closeDec func()
	if rc == rtpframe.Opus {
		dec, err := codec.NewOpusDecoder(2)
		if err != nil {
			t.Fatal(err)
		}
		pcm := make([]int16, 5760*2)
		emit = func(f rtpframe.Frame) {
			n, err := dec.Decode(f.Data, pcm)
			if err != nil {
				return
			}
			c.mu.Lock()
			for i := range n {
				c.pcm = append(c.pcm, pcm[2*i])
			}
			if len(c.pcm) > 48000 {
				c.pcm = append(c.pcm[:0], c.pcm[len(c.pcm)-48000:]...)
			}
			c.mu.Unlock()
		}
		closeDec = dec.Close
	} else {
		dec, err := codec.NewVideoDecoder(rc.String())
		if err != nil {
			t.Fatal(err)
		}
		emit = func(f rtpframe.Frame) {
			data := f.Data
			if rc == rtpframe.H264 {
				data = avccToAnnexB(data)
			}
			img, err := dec.Decode(data)
			if err != nil || img == nil {
				return
			}
			c.mu.Lock()
			c.pic, c.frames = img, c.frames+1
			if f.Key {
				c.keys++
			}
			c.mu.Unlock()
		}
		closeDec = dec.Close
	}
	var pkt rtp.Packet
	return func(typ medialink.FrameType, payload []byte) {
		if typ != medialink.FrameRTP || pkt.Unmarshal(payload) != nil {
			return
		}
		c.mu.Lock()
		now := time.Now()
		if c.packets == 0 {
			c.firstTS, c.first = pkt.Timestamp, now
		} else {
			if pkt.SequenceNumber != c.lastSeq+1 {
				c.seqGaps++
			}
			if d := pkt.Timestamp - c.lastTS; d > 1<<31 {
				c.tsBack++
			} else if d > 0 {
				c.tsSteps[d]++
			}
		}
		c.packets++
		c.lastSeq, c.lastTS, c.last = pkt.SequenceNumber, pkt.Timestamp, now
		c.ssrcs[pkt.SSRC] = true
		c.mu.Unlock()
		dp.Push(&pkt, time.Now(), emit)
	}, closeDec
}

// avccToAnnexB replaces 4-byte NAL lengths by start codes.
func avccToAnnexB(b []byte) []byte {
	var out []byte
	for len(b) >= 4 {
		n := int(binary.BigEndian.Uint32(b))
		if n > len(b)-4 {
			break
		}
		out = append(append(out, 0, 0, 0, 1), b[4:4+n]...)
		b = b[4+n:]
	}
	return out
}

func (c *consumer) close() {
	c.link.Close("consumer done")
	<-c.done
}

// picture returns the latest decoded picture and the frame count.
func (c *consumer) picture() (*yuv.Image, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pic, c.frames
}

// waitPicture polls until ok accepts the latest picture.
func (c *consumer) waitPicture(t testing.TB, what string, d time.Duration, ok func(*yuv.Image) bool) *yuv.Image {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if img, _ := c.picture(); img != nil && ok(img) {
			return img
		}
		time.Sleep(20 * time.Millisecond)
	}
	img, n := c.picture()
	t.Fatalf("%s: not seen within %v (%d frames decoded, last picture %v)", what, d, n, describe(img))
	return nil
}

func describe(img *yuv.Image) any {
	if img == nil {
		return "none"
	}
	return [2]int{img.Width, img.Height}
}

// audio returns the latest second of the left channel.
func (c *consumer) audio() []int16 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int16(nil), c.pcm...)
}

// goertzel returns the power of freq in pcm (48 kHz), normalised by length.
func goertzel(pcm []int16, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/48000)
	var s1, s2 float64
	for _, v := range pcm {
		s := float64(v) + k*s1 - s2
		s2, s1 = s1, s
	}
	p := s1*s1 + s2*s2 - k*s1*s2
	return p / float64(len(pcm)*len(pcm))
}

// regionRect converts a layout region to pixels as the engine does (even edges), shrunk by
// margin on each side to stay clear of edge filtering.
func regionRect(t testing.TB, r room.Region, w, h, margin int) yuv.Rect {
	t.Helper()
	f := func(x room.Fraction) float64 {
		v, ok := x.Float()
		if !ok {
			t.Fatalf("bad fraction %q", x)
		}
		return v
	}
	even := func(v float64, size int) int { return 2 * int(math.Floor(v*float64(size)/2+0.5+1e-9)) }
	x0, x1 := even(f(r.Area.Left), w), even(f(r.Area.Left)+f(r.Area.Width), w)
	y0, y1 := even(f(r.Area.Top), h), even(f(r.Area.Top)+f(r.Area.Height), h)
	return yuv.Rect{X: x0 + margin, Y: y0 + margin, W: x1 - x0 - 2*margin, H: y1 - y0 - 2*margin}
}

// colorNear reports whether the mean colour of rect in img is within tol of c.
func colorNear(img *yuv.Image, rect yuv.Rect, c room.Color, tol float64) bool {
	y, u, v := yuv.MeanColor(img, rect)
	ey, eu, ev := yuv.RGBToYUV(c.R, c.G, c.B)
	return math.Abs(y-float64(ey)) <= tol && math.Abs(u-float64(eu)) <= tol && math.Abs(v-float64(ev)) <= tol
}

// settleGoroutines waits until the goroutine count is at most n; it returns the count.
func settleGoroutines(n int, d time.Duration) int {
	deadline := time.Now().Add(d)
	for {
		g := runtime.NumGoroutine()
		if g <= n || time.Now().After(deadline) {
			return g
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// regionOf returns the region holding stream in layout.
func regionOf(t testing.TB, layout []protocol.LayoutRegion, stream string) room.Region {
	t.Helper()
	for _, r := range layout {
		if r.Stream == stream {
			return r.Region
		}
	}
	t.Fatalf("stream %s not in layout %+v", stream, layout)
	return room.Region{}
}

// mixView is the default view at size w×h with the given base template.
func mixView(w, h int) room.View {
	v := room.DefaultView()
	v.Video.Parameters.Resolution = room.Resolution{Width: w, Height: h}
	v.Video.BgColor = white
	return v
}

// clock returns the consumer's RTP statistics: packets, sequence gaps, backward timestamps,
// SSRC count, the timestamp steps seen and the media clock rate measured against arrival.
func (c *consumer) clock() (packets, gaps, back, ssrcs int, steps map[uint32]int, rate float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	steps = map[uint32]int{}
	for k, v := range c.tsSteps {
		steps[k] = v
	}
	if d := c.last.Sub(c.first).Seconds(); d > 0 {
		rate = float64(c.lastTS-c.firstTS) / d
	}
	return c.packets, c.seqGaps, c.tsBack, len(c.ssrcs), steps, rate
}
