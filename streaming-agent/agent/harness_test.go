package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	pionmedia "github.com/pion/webrtc/v4/pkg/media"
)

const controllerID = "conference-test@ctrl"

// needTools skips when ffmpeg, ffprobe or nginx are missing (scripts/test installs them).
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("CONCLAVE_TEST_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testConfig is an agent configuration with short timeouts.
func testConfig(t *testing.T) Config {
	return Config{Host: "test", MediaLinkListen: "127.0.0.1:0", WorkDir: t.TempDir(), StartTimeout: 15 * time.Second,
		NoMediaTimeout: 5 * time.Second, ProbeTimeout: 5 * time.Second, StopTimeout: 3 * time.Second,
		RetryMin: 500 * time.Millisecond, RetryMax: 2 * time.Second, MaxRetries: 20,
		AllowTargets: []string{"127.0.0.1/32"}} // the test's own servers
}

// startAgent runs an agent on hub until the test ends, then checks that Run returned and
// that no ffmpeg child is left.
func startAgent(t *testing.T, hub *local.Hub, cfg Config) *Agent {
	t.Helper()
	b := local.New(hub)
	a, err := New(cfg, Deps{Bus: b, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	select {
	case <-a.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("agent not ready")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("agent did not stop")
		}
		_ = b.Close()
		waitNoFFmpeg(t)
	})
	return a
}

// ffmpegChildren lists the ffmpeg/ffprobe processes whose parent is this test process.
func ffmpegChildren() []int {
	me := strconv.Itoa(os.Getpid())
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < 0 || closing+2 >= len(s) {
			continue
		}
		fields := strings.Fields(s[closing+2:])
		name := s[open+1 : closing]
		if len(fields) > 1 && fields[1] == me && (name == "ffmpeg" || name == "ffprobe") && fields[0] != "Z" {
			pids = append(pids, pid)
		}
	}
	return pids
}

// testChildren are ffmpeg processes the tests start themselves (sources), excluded from
// leak checks.
var testChildren sync.Map

// waitNoFFmpeg fails when an agent-started ffmpeg outlives its session.
func waitNoFFmpeg(t *testing.T) {
	t.Helper()
	waitFor(t, 10*time.Second, "no ffmpeg left", func() bool {
		for _, pid := range ffmpegChildren() {
			if _, ours := testChildren.Load(pid); !ours {
				return false
			}
		}
		return true
	})
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// controller is a fake conference agent collecting session events.
type controller struct {
	mu sync.Mutex
	ev []protocol.SessionEvent
}

func newController(t *testing.T, hub *local.Hub) *controller {
	t.Helper()
	c := &controller{}
	b := local.New(hub)
	sub, err := bus.SubscribeJSON(b, protocol.SessionTopic(controllerID), func(protocol.SessionEvent) bool { return true }, nil,
		func(se protocol.SessionEvent) {
			c.mu.Lock()
			c.ev = append(c.ev, se)
			c.mu.Unlock()
		})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close(); _ = b.Close() })
	return c
}

// events returns the events of session id with type typ.
func (c *controller) events(id, typ string) []protocol.SessionEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []protocol.SessionEvent
	for _, e := range c.ev {
		if e.ID == id && e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// fakeSource is a fake webrtc agent: it answers rtc.export and serves media links that
// play the test clips as RTP packetized with pion's payloaders.
type fakeSource struct {
	id     string
	server *medialink.Server
	ctx    context.Context
	wg     sync.WaitGroup
	mu     sync.Mutex
	kf     int
}

// clip tracks the fake source holds.
var fakeTracks = map[string]struct {
	info medialink.TrackInfo
	play func(media.SampleWriter) *media.Source
	pay  rtp.Payloader
}{
	"h264": {medialink.TrackInfo{Kind: "video", MimeType: "video/H264", ClockRate: 90000,
		Fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, media.NewH264Source, &codecs.H264Payloader{}},
	"vp8":  {medialink.TrackInfo{Kind: "video", MimeType: "video/VP8", ClockRate: 90000}, media.NewVP8Source, &codecs.VP8Payloader{}},
	"opus": {medialink.TrackInfo{Kind: "audio", MimeType: "audio/opus", ClockRate: 48000, Channels: 2}, media.NewOpusSource, &codecs.OpusPayloader{}},
}

func startFakeSource(t *testing.T, hub *local.Hub) *fakeSource {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	fs := &fakeSource{id: "webrtc-fake@test", ctx: ctx}
	srv, err := medialink.NewServer(medialink.Config{Secret: []byte("0123456789abcdef0123"), Listen: "127.0.0.1:0"}, fs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	fs.server = srv
	b := local.New(hub)
	sub, err := b.Serve(fs.id, func(_ context.Context, req bus.Request) (any, error) {
		return bus.HandleAs(req, func(r protocol.RTCExport) (any, error) {
			if _, ok := fakeTracks[r.TrackID]; !ok {
				return nil, errTrackNotFound(r.TrackID)
			}
			return srv.Offer(r.TrackID)
		}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		_ = sub.Close()
		cancel()
		<-served
		fs.wg.Wait()
		_ = b.Close()
	})
	return fs
}

// Export implements medialink.Exporter: each link gets its own player of the clip.
func (fs *fakeSource) Export(trackID string, l *medialink.Link) (medialink.Export, error) {
	tr, ok := fakeTracks[trackID]
	if !ok {
		return medialink.Export{}, fmt.Errorf("Track %s does NOT exist", trackID)
	}
	info := tr.info
	info.TrackID = trackID
	pt := uint8(100)
	w := &linkWriter{l: l, clock: info.ClockRate,
		p: rtp.NewPacketizer(1200, pt, 0x1234, tr.pay, rtp.NewRandomSequencer(), info.ClockRate)}
	ctx, cancel := context.WithCancel(fs.ctx)
	fs.wg.Add(1)
	go func() {
		defer fs.wg.Done()
		select {
		case <-l.Done():
		case <-ctx.Done():
		}
		cancel()
	}()
	fs.wg.Add(1)
	go func() { defer fs.wg.Done(); _ = tr.play(w).Run(ctx) }()
	return medialink.Export{Info: info, Detach: cancel, Keyframe: func() { fs.mu.Lock(); fs.kf++; fs.mu.Unlock() }}, nil
}

// linkWriter packetizes samples into a media link.
type linkWriter struct {
	l     *medialink.Link
	p     rtp.Packetizer
	clock uint32
}

// WriteSample implements media.SampleWriter.
func (w *linkWriter) WriteSample(s pionmedia.Sample) error {
	for _, p := range w.p.Packetize(s.Data, uint32(s.Duration.Seconds()*float64(w.clock))) {
		raw, err := p.Marshal()
		if err != nil {
			return err
		}
		w.l.SendRTP(raw)
	}
	return nil
}

// ref is a TrackRef to the fake source.
func (fs *fakeSource) ref(track string) protocol.TrackRef {
	return protocol.TrackRef{Agent: fs.id, TrackID: track}
}

// freePort returns a TCP port free on 127.0.0.1 now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// nginxRTMP is an nginx-rtmp server on a loopback port, recording to dir/rec.
type nginxRTMP struct {
	t    *testing.T
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

func startNginx(t *testing.T) *nginxRTMP {
	t.Helper()
	needTools(t, "nginx")
	n := &nginxRTMP{t: t, dir: t.TempDir(), port: freePort(t)}
	for _, d := range []string{"rec", "logs"} {
		if err := os.MkdirAll(filepath.Join(n.dir, d), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.Chmod(filepath.Join(n.dir, "rec"), 0o777) // workers run as nobody
	// t.TempDir's parent is private: nobody must traverse it to reach rec.
	_ = os.Chmod(filepath.Dir(n.dir), 0o755)
	_ = os.Chmod(n.dir, 0o755)
	conf := fmt.Sprintf(`load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log info;
events { worker_connections 64; }
rtmp {
    server {
        listen 127.0.0.1:%[2]d;
        chunk_size 4096;
        application live {
            live on;
            allow publish 127.0.0.1;
            deny publish all;
            allow play 127.0.0.1;
            deny play all;
            record all;
            record_path %[1]s/rec;
            record_unique off;
        }
    }
}
`, n.dir, n.port)
	if err := os.WriteFile(filepath.Join(n.dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n.start()
	t.Cleanup(n.stop)
	return n
}

// start runs nginx and waits for its port.
func (n *nginxRTMP) start() {
	n.t.Helper()
	n.cmd = exec.Command("nginx", "-c", filepath.Join(n.dir, "nginx.conf"), "-p", n.dir)
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(n.cmd, n.done)
	waitFor(n.t, 10*time.Second, "nginx port", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", n.port))
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	})
}

// stop ends nginx and its workers (fast shutdown, then kill).
func (n *nginxRTMP) stop() {
	if n.cmd == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM) // fast shutdown: a graceful quit waits for publishers
	select {
	case <-n.done:
	case <-time.After(5 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
	n.cmd = nil
}

// url is the RTMP URL of stream name.
func (n *nginxRTMP) url(name string) string {
	return fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", n.port, name)
}

// recorded is the flv nginx records for stream name.
func (n *nginxRTMP) recorded(name string) string { return filepath.Join(n.dir, "rec", name+".flv") }

// probeStreams returns "codec_type=codec_name" entries ffprobe reads from target.
func probeStreams(t *testing.T, target string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name",
		"-of", "csv=p=0", target).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", target, err)
	}
	streams := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if name, typ, ok := strings.Cut(line, ","); ok {
			streams[typ] = name
		}
	}
	return streams
}
