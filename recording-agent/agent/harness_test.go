package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/recording-agent/internal/testclip"
)

const (
	sourceAgent = "webrtc-00000000000000000001@test"
	controller  = "conf-test"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

// harness is a recording agent on a local bus, a fake webrtc agent exporting clip tracks
// over a real media-link server, and a controller collecting session events.
type harness struct {
	hub   *local.Hub
	bus   bus.Bus
	agent *Agent
	pub   *testclip.Publisher
	ctx   context.Context // the publisher's life

	mu     sync.Mutex
	events []protocol.SessionEvent
}

func quietLogger() *slog.Logger {
	if os.Getenv("RECORDING_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newHarness starts everything; cfg's zero fields get test defaults.
func newHarness(t testing.TB, cfg Config) *harness {
	h := &harness{hub: local.NewHub(local.Config{Logger: quietLogger()})}
	ctx, cancel := context.WithCancel(context.Background())
	h.ctx = ctx
	h.pub = testclip.NewPublisher()
	srv := startLinkServer(t, ctx, h.pub)
	src := local.New(h.hub)
	sub, err := src.Serve(sourceAgent, func(_ context.Context, req bus.Request) (any, error) {
		if req.Method != protocol.MethodRTCExport {
			return nil, errs.BadRequest("bad request")
		}
		return bus.HandleAs(req, func(r protocol.RTCExport) (any, error) { return srv.Offer(r.TrackID) }, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	h.bus = local.New(h.hub)
	evSub, err := bus.SubscribeJSON(h.bus, protocol.SessionTopic(controller), func(protocol.SessionEvent) bool { return true }, nil,
		func(e protocol.SessionEvent) {
			h.mu.Lock()
			h.events = append(h.events, e)
			h.mu.Unlock()
		})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.MinFreeBytes == 0 {
		cfg.MinFreeBytes = 1
	}
	cfg.Host = "test-host"
	h.agent, err = New(cfg, Deps{Bus: local.New(h.hub), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	runDone := make(chan error, 1)
	agentCtx, stopAgent := context.WithCancel(context.Background())
	go func() { runDone <- h.agent.Run(agentCtx) }()
	h.waitEndpoint(t)
	t.Cleanup(func() {
		stopAgent()
		if err := <-runDone; err != nil {
			t.Errorf("agent Run: %v", err)
		}
		cancel()
		h.pub.Wait()
		_ = evSub.Close()
		_ = sub.Close()
	})
	return h
}

func startLinkServer(t testing.TB, ctx context.Context, exp medialink.Exporter) *medialink.Server {
	srv, err := medialink.NewServer(medialink.Config{Secret: testSecret, Listen: "127.0.0.1:0"}, exp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ctx) }()
	t.Cleanup(func() { <-done })
	return srv
}

// waitEndpoint polls until the agent serves its endpoint.
func (h *harness) waitEndpoint(t testing.TB) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := h.bus.Call(context.Background(), h.agent.ID(), "rec.ping", struct{}{}, nil)
		if err == nil || errs.As(err).Code == errs.CodeBadRequest {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent endpoint not served: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// publish adds clip tracks "<prefix>-video"/"<prefix>-audio" with the given codecs.
func (h *harness) publish(t testing.TB, prefix, videoMime, audioMime string, delay time.Duration) {
	if videoMime != "" {
		h.pub.Add(h.ctx, testclip.TrackSpec{ID: prefix + "-video", Kind: "video", Mime: videoMime, Frames: clipFrames(t, videoMime), Delay: delay})
	}
	if audioMime != "" {
		h.pub.Add(h.ctx, testclip.TrackSpec{ID: prefix + "-audio", Kind: "audio", Mime: audioMime, Frames: clipFrames(t, audioMime)})
	}
}

func clipFrames(t testing.TB, mime string) []testclip.Frame {
	var f []testclip.Frame
	var err error
	switch mime {
	case "video/VP8":
		f, err = testclip.VP8()
	case "video/H264":
		f, err = testclip.H264()
	default:
		f, err = testclip.Opus()
	}
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func track(id, codec string) *protocol.SessionTrack {
	return &protocol.SessionTrack{Source: protocol.TrackRef{Agent: sourceAgent, TrackID: id}, Format: protocol.Format{Codec: codec}}
}

func (h *harness) call(method string, req, resp any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return h.bus.Call(ctx, h.agent.ID(), method, req, resp)
}

func (h *harness) sessionEvents() []protocol.SessionEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]protocol.SessionEvent(nil), h.events...)
}

// waitEvent polls for a session event of type typ for id.
func (h *harness) waitEvent(t testing.TB, id, typ string) protocol.SessionEvent {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range h.sessionEvents() {
			if e.ID == id && e.Type == typ {
				return e
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s event for %s; events %+v", typ, id, h.sessionEvents())
	return protocol.SessionEvent{}
}

// probe is what ffprobe says about a file.
type probe struct {
	Streams []struct {
		CodecType string `json:"codec_type"`
		CodecName string `json:"codec_name"`
		StartTime string `json:"start_time"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func ffprobe(t testing.TB, path string) probe {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe not installed")
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-of", "json", "-show_streams", "-show_format", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p probe) codecs() string {
	var c []string
	for _, s := range p.Streams {
		c = append(c, s.CodecType+":"+s.CodecName)
	}
	return strings.Join(c, ",")
}

func (p probe) start(kind string) (float64, bool) {
	for _, s := range p.Streams {
		if s.CodecType == kind {
			v, err := strconv.ParseFloat(s.StartTime, 64)
			return v, err == nil
		}
	}
	return 0, false
}

func (p probe) duration() float64 {
	v, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return v
}

// decodes runs a full decode of the file.
func decodes(t testing.TB, path string) error {
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}
