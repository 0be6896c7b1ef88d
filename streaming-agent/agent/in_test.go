package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/rtp"
)

// testSourceArgs encode a synthetic 320x240 H.264 Baseline + AAC source.
var testSourceArgs = []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-re",
	"-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
	"-c:v", "libx264", "-profile:v", "baseline", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
	"-g", "30", "-c:a", "aac", "-b:a", "64k"}

// runSource runs a test ffmpeg publishing to target until the test ends; with loop it is
// restarted whenever it exits.
func runSource(t *testing.T, loop bool, outArgs ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			cmd := exec.Command("ffmpeg", append(append([]string{}, testSourceArgs...), outArgs...)...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			if err := cmd.Start(); err != nil {
				t.Errorf("source ffmpeg: %v", err)
				return
			}
			testChildren.Store(cmd.Process.Pid, true)
			exited := make(chan struct{})
			go func() { _ = cmd.Wait(); close(exited) }()
			select {
			case <-ctx.Done():
				_ = cmd.Process.Kill()
				<-exited
			case <-exited:
			}
			testChildren.Delete(cmd.Process.Pid)
			if !loop {
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// importTrack dials the agent's export of track and counts its frames.
func importTrack(t *testing.T, e *outEnv, track protocol.RTCTrack) *media.FrameCounter {
	t.Helper()
	var res protocol.RTCExportResult
	if err := e.call(protocol.MethodRTCExport, protocol.RTCExport{TrackID: track.ID}, &res); err != nil {
		t.Fatalf("rtc.export %s: %v", track.ID, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l, info, err := medialink.Dial(ctx, res.Address, res.Ticket, 0)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := media.NewFrameCounter(info.MimeType)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = l.Run(ctx, func(typ medialink.FrameType, p []byte) {
			var pkt rtp.Packet
			if typ == medialink.FrameRTP && pkt.Unmarshal(append([]byte(nil), p...)) == nil {
				fc.Push(&pkt)
			}
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return fc
}

// waitFrames waits for n decodable frames.
func waitFrames(t *testing.T, fc *media.FrameCounter, n int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fc.WaitDecodable(ctx, n); err != nil {
		t.Fatalf("%v (stats %+v)", err, fc.Stats())
	}
}

// checkTracks verifies an InStarted answer and returns its tracks by type.
func checkTracks(t *testing.T, res protocol.InStarted, id string) map[string]protocol.RTCTrack {
	t.Helper()
	byType := map[string]protocol.RTCTrack{}
	for _, tr := range res.Tracks {
		byType[tr.Type] = tr
	}
	v, a := byType["video"], byType["audio"]
	if v.ID != id+"-video" || v.Format.Codec != "h264" || v.Format.Profile != "B" && v.Format.Profile != "CB" {
		t.Fatalf("video track = %+v", v)
	}
	if v.Parameters == nil || v.Parameters.Resolution == nil || v.Parameters.Resolution.Width != 320 || v.Parameters.Framerate != 30 {
		t.Fatalf("video parameters = %+v", v.Parameters)
	}
	if a.ID != id+"-audio" || a.Format != (protocol.Format{Codec: "opus", SampleRate: 48000, ChannelNum: 2}) {
		t.Fatalf("audio track = %+v", a)
	}
	return byType
}

func TestStreamingInPull(t *testing.T) {
	tests := []struct {
		name      string
		transport string
		source    func(t *testing.T) string // starts a source, returns its URL
	}{
		{"rtmp from nginx", "", func(t *testing.T) string {
			ng := startNginx(t)
			runSource(t, false, "-f", "flv", ng.url("src"))
			return ng.url("src")
		}},
		// RTSP sources (TCP and UDP) are served by a gortsplib server: TestStreamingInRTSP.
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newOutEnv(t, testConfig(t))
			url := tc.source(t)
			req := protocol.InStart{ID: "in-1", RoomID: "room", Controller: controllerID, URL: url,
				TransportProtocol: tc.transport, Audio: protocol.TrackAuto, Video: protocol.TrackAuto}
			var res protocol.InStarted
			var err error
			// The source needs a moment to start publishing; in.start fails clearly until it has.
			deadline := time.Now().Add(15 * time.Second)
			for err = e.call(protocol.MethodInStart, req, &res); err != nil; err = e.call(protocol.MethodInStart, req, &res) {
				if time.Now().After(deadline) {
					t.Fatalf("in.start: %v", err)
				}
				time.Sleep(200 * time.Millisecond)
			}
			tracks := checkTracks(t, res, "in-1")
			video := importTrack(t, e, tracks["video"])
			audio := importTrack(t, e, tracks["audio"])
			waitFrames(t, video, 30)
			waitFrames(t, audio, 50)
			late := importTrack(t, e, tracks["video"]) // joins mid-GOP: gets the cached GOP first
			waitFrames(t, late, 10)
			if err := e.call(protocol.MethodInStop, protocol.SessionStop{ID: "in-1"}, nil); err != nil {
				t.Fatal(err)
			}
			if pids := e.agent.PIDs(); len(pids) != 0 {
				t.Fatalf("ffmpeg left after in.stop: %v", pids)
			}
			var ee *errs.Error
			err = e.call(protocol.MethodRTCExport, protocol.RTCExport{TrackID: tracks["video"].ID}, nil)
			if !errors.As(err, &ee) || ee.Code != errs.CodeStreamNotFound {
				t.Fatalf("rtc.export after stop = %v", err)
			}
		})
	}
}

func TestStreamingInErrors(t *testing.T) {
	hub := local.NewHub(local.Config{})
	needTools(t, "ffmpeg", "ffprobe")
	e := &outEnv{hub: hub, ctrl: newController(t, hub), agent: startAgent(t, hub, testConfig(t)), caller: local.New(hub)}
	t.Cleanup(func() { _ = e.caller.Close() })
	closed := freePort(t)
	tests := []struct {
		name  string
		url   string
		video string
		code  int
		msg   string
	}{
		{"unsupported protocol", "srt://127.0.0.1:9/x", protocol.TrackAuto, errs.CodeBadRequest, "Unsupported protocol"},
		{"not a url", "nothing", protocol.TrackAuto, errs.CodeBadRequest, "Invalid url"},
		{"unreachable rtmp", fmt.Sprintf("rtmp://127.0.0.1:%d/live/x", closed), protocol.TrackAuto, errs.CodeCluster, "cannot open"},
		{"unreachable rtsp", fmt.Sprintf("rtsp://127.0.0.1:%d/x", closed), protocol.TrackAuto, errs.CodeCluster, "cannot open"},
		{"credentials are not echoed", fmt.Sprintf("rtsp://user:secret@127.0.0.1:%d/x", closed), protocol.TrackAuto, errs.CodeCluster, "xxx@"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			begin := time.Now()
			err := e.call(protocol.MethodInStart, protocol.InStart{ID: "in-x", Controller: controllerID, URL: tc.url,
				Audio: protocol.TrackAuto, Video: tc.video}, nil)
			var ee *errs.Error
			if !errors.As(err, &ee) || ee.Code != tc.code || !strings.Contains(ee.Message, tc.msg) || strings.Contains(ee.Message, "secret") {
				t.Fatalf("in.start = %v, want code %d containing %q", err, tc.code, tc.msg)
			}
			if d := time.Since(begin); d > 10*time.Second {
				t.Fatalf("took %s", d)
			}
			waitNoFFmpeg(t)
		})
	}
	var ee *errs.Error
	if err := e.call(protocol.MethodRTCExport, protocol.RTCExport{TrackID: "in-x-video"}, nil); !errors.As(err, &ee) || ee.Code != errs.CodeStreamNotFound {
		t.Fatalf("rtc.export of unknown track = %v", err)
	}
}

// TestStreamingEgressPolicy: by default a tenant cannot make the agent reach loopback,
// private or metadata addresses (server-side request forgery), and where loopback is
// allowed the answers do not tell an open port from a closed one.
func TestStreamingEgressPolicy(t *testing.T) {
	needTools(t, "ffmpeg", "ffprobe")
	hub := local.NewHub(local.Config{})
	cfg := testConfig(t)
	cfg.AllowTargets = nil
	e := &outEnv{hub: hub, ctrl: newController(t, hub), agent: startAgent(t, hub, cfg), caller: local.New(hub)}
	t.Cleanup(func() { _ = e.caller.Close() })
	for _, u := range []string{"http://127.0.0.1:3000/healthz", "rtsp://[::1]:554/x", "rtmp://169.254.169.254/live/x",
		"http://10.0.0.1/x.flv", "rtsp://192.168.1.1/cam", "rtmp://localhost/live/x"} {
		err := e.call(protocol.MethodInStart, protocol.InStart{ID: "in-x", Controller: controllerID, URL: u,
			Audio: protocol.TrackAuto, Video: protocol.TrackAuto}, nil)
		var ee *errs.Error
		if !errors.As(err, &ee) || ee.Status != http.StatusForbidden || !strings.Contains(ee.Message, "not allowed") {
			t.Errorf("in.start %s = %v, want 403 not allowed", u, err)
		}
	}
	waitNoFFmpeg(t)

	// Loopback allowed: an open port that is no media server and a closed one look alike.
	e2 := &outEnv{hub: hub, ctrl: e.ctrl, agent: startAgent(t, hub, testConfig(t)), caller: e.caller}
	open, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	go func() {
		for {
			c, err := open.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("HTTP/1.0 200 OK\r\n\r\nhello"))
			_ = c.Close()
		}
	}()
	openPort := open.Addr().(*net.TCPAddr).Port
	closedPort := freePort(t)
	answer := func(port int) string {
		err := e2.call(protocol.MethodInStart, protocol.InStart{ID: "in-y", Controller: controllerID,
			URL: fmt.Sprintf("rtsp://127.0.0.1:%d/x", port), Audio: protocol.TrackAuto, Video: protocol.TrackAuto}, nil)
		return strings.ReplaceAll(fmt.Sprint(err), strconv.Itoa(port), "PORT")
	}
	if a, b := answer(openPort), answer(closedPort); a != b {
		t.Errorf("open and closed ports answered differently:\n%s\n%s", a, b)
	}
	waitNoFFmpeg(t)
}
