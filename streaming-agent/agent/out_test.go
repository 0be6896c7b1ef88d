package agent

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// outEnv is an agent, a fake source agent and a controller on one local bus.
type outEnv struct {
	hub    *local.Hub
	agent  *Agent
	src    *fakeSource
	ctrl   *controller
	caller *local.Bus
}

func newOutEnv(t *testing.T, cfg Config) *outEnv {
	t.Helper()
	needTools(t, "ffmpeg", "ffprobe")
	hub := local.NewHub(local.Config{})
	e := &outEnv{hub: hub, ctrl: newController(t, hub), src: startFakeSource(t, hub)}
	e.agent = startAgent(t, hub, cfg)
	e.caller = local.New(hub)
	t.Cleanup(func() { _ = e.caller.Close() })
	return e
}

// call sends an RPC to the agent with a generous deadline.
func (e *outEnv) call(method string, req, resp any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return e.caller.Call(ctx, e.agent.ID(), method, req, resp)
}

// outStart builds an out.start request from the fake source's tracks.
func (e *outEnv) outStart(id, proto, url, video, audio string) protocol.OutStart {
	r := protocol.OutStart{ID: id, RoomID: "room", Controller: controllerID, Protocol: proto, URL: url}
	if video != "" {
		r.Video = &protocol.SessionTrack{Source: e.src.ref(video)}
	}
	if audio != "" {
		r.Audio = &protocol.SessionTrack{Source: e.src.ref(audio)}
	}
	return r
}

func TestStreamingOutRTMP(t *testing.T) {
	tests := []struct{ name, video string }{
		{"h264 copied", "h264"},
		{"vp8 transcoded", "vp8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newOutEnv(t, testConfig(t))
			ng := startNginx(t)
			begin := time.Now()
			if err := e.call(protocol.MethodOutStart, e.outStart("out-1", "rtmp", ng.url("s1"), tc.video, "opus"), nil); err != nil {
				t.Fatalf("out.start: %v", err)
			}
			t.Logf("out.start answered after %s", time.Since(begin).Round(time.Millisecond))
			time.Sleep(3 * time.Second) // let a few seconds reach the recording
			if err := e.call(protocol.MethodOutStop, protocol.SessionStop{ID: "out-1"}, nil); err != nil {
				t.Fatalf("out.stop: %v", err)
			}
			if len(e.agent.PIDs()) != 0 {
				t.Fatalf("ffmpeg still running after out.stop: %v", e.agent.PIDs())
			}
			waitFor(t, 5*time.Second, "stopped event", func() bool { return len(e.ctrl.events("out-1", protocol.SessionEventStopped)) == 1 })
			got := probeStreams(t, ng.recorded("s1"))
			if got["video"] != "h264" || got["audio"] != "aac" {
				t.Fatalf("recorded streams = %v, want h264 video and aac audio", got)
			}
		})
	}
}

// uploads is an HTTP server accepting HLS/DASH PUT and POST uploads.
type uploads struct {
	mu    sync.Mutex
	files map[string][]byte
	dir   string
}

func (u *uploads) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		w.WriteHeader(http.StatusOK)
		return
	}
	buf := make([]byte, 0, 64*1024)
	tmp := make([]byte, 32*1024)
	for {
		n, err := r.Body.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if err != nil {
			break
		}
	}
	u.mu.Lock()
	u.files[path.Base(r.URL.Path)] = buf
	u.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

// count returns the number of uploaded files with suffix.
func (u *uploads) count(suffix string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for name := range u.files {
		if strings.HasSuffix(name, suffix) {
			n++
		}
	}
	return n
}

// save writes one uploaded file with suffix to disk and returns its path.
func (u *uploads) save(t *testing.T, suffix string) string {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	for name, b := range u.files {
		if strings.HasSuffix(name, suffix) {
			p := filepath.Join(u.dir, name)
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	t.Fatalf("no %s uploaded", suffix)
	return ""
}

func TestStreamingOutHLSUpload(t *testing.T) {
	e := newOutEnv(t, testConfig(t))
	up := &uploads{files: map[string][]byte{}, dir: t.TempDir()}
	srv := httptest.NewServer(up)
	defer srv.Close()
	req := e.outStart("out-hls", "hls", srv.URL+"/hls/index.m3u8", "h264", "opus")
	req.Parameters = &protocol.StreamingOutParam{Method: "PUT", HLSTime: 1, HLSListSize: 3}
	if err := e.call(protocol.MethodOutStart, req, nil); err != nil {
		t.Fatalf("out.start: %v", err)
	}
	waitFor(t, 20*time.Second, "playlist and 2 segments", func() bool { return up.count(".m3u8") >= 1 && up.count(".ts") >= 2 })
	got := probeStreams(t, up.save(t, ".ts"))
	if got["video"] != "h264" || got["audio"] != "aac" {
		t.Fatalf("segment streams = %v", got)
	}
	if err := e.call(protocol.MethodOutStop, protocol.SessionStop{ID: "out-hls"}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestStreamingOutRestartsWhenServerRestarts(t *testing.T) {
	e := newOutEnv(t, testConfig(t))
	ng := startNginx(t)
	if err := e.call(protocol.MethodOutStart, e.outStart("out-r", "rtmp", ng.url("r"), "h264", "opus"), nil); err != nil {
		t.Fatalf("out.start: %v", err)
	}
	first := e.agent.PIDs()
	ng.stop()
	waitFor(t, 15*time.Second, "retry status", func() bool {
		for _, ev := range e.ctrl.events("out-r", protocol.SessionEventStatus) {
			if ev.Reason != "" {
				return true
			}
		}
		return false
	})
	ng.start()
	waitFor(t, 30*time.Second, "healthy status after restart", func() bool {
		evs := e.ctrl.events("out-r", protocol.SessionEventStatus)
		return len(evs) > 0 && evs[len(evs)-1].Reason == ""
	})
	if now := e.agent.PIDs(); len(now) != 1 || len(first) != 1 || now[0] == first[0] {
		t.Fatalf("ffmpeg pids before %v after %v: want one new process", first, now)
	}
	if len(e.ctrl.events("out-r", protocol.SessionEventFailed)) != 0 {
		t.Fatal("the job failed instead of retrying")
	}
	time.Sleep(2 * time.Second)
	if err := e.call(protocol.MethodOutStop, protocol.SessionStop{ID: "out-r"}, nil); err != nil {
		t.Fatal(err)
	}
	got := probeStreams(t, ng.recorded("r"))
	if got["video"] != "h264" {
		t.Fatalf("recording after restart = %v", got)
	}
}

func TestStreamingOutErrors(t *testing.T) {
	e := newOutEnv(t, testConfig(t))
	closed := freePort(t)
	tests := []struct {
		name string
		req  protocol.OutStart
		code int
		msg  string
		max  time.Duration
	}{
		{"unreachable rtmp host", e.outStart("o1", "rtmp", "rtmp://127.0.0.1:"+itoa(closed)+"/live/x", "h264", "opus"),
			errs.CodeCluster, "connection to the target failed", 15 * time.Second},
		{"unsupported protocol", e.outStart("o2", "srt", "srt://127.0.0.1:9/x", "h264", ""), errs.CodeBadRequest, "Unsupported protocol", time.Second},
		{"scheme mismatch", e.outStart("o3", "rtmp", "http://127.0.0.1:9/x", "h264", ""), errs.CodeBadRequest, "does not match", time.Second},
		{"no tracks", e.outStart("o4", "rtmp", "rtmp://127.0.0.1:9/x", "", ""), errs.CodeBadRequest, "audio or video", time.Second},
		{"unknown source track", e.outStart("o5", "rtmp", "rtmp://127.0.0.1:9/x", "nope", ""), errs.CodeStreamNotFound, "nope", 2 * time.Second},
		{"source agent gone", func() protocol.OutStart {
			r := e.outStart("o6", "rtmp", "rtmp://127.0.0.1:9/x", "h264", "")
			r.Video.Source.Agent = "webrtc-missing@x"
			return r
		}(), errs.CodeCluster, "", 3 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			begin := time.Now()
			err := e.call(protocol.MethodOutStart, tc.req, nil)
			var ee *errs.Error
			if !errors.As(err, &ee) || ee.Code != tc.code || !strings.Contains(ee.Message, tc.msg) {
				t.Fatalf("out.start = %v, want code %d containing %q", err, tc.code, tc.msg)
			}
			if d := time.Since(begin); d > tc.max {
				t.Fatalf("error took %s, want < %s", d, tc.max)
			}
			t.Logf("%s: %v after %s", tc.name, err, time.Since(begin).Round(time.Millisecond))
			if pids := e.agent.PIDs(); len(pids) != 0 {
				t.Fatalf("ffmpeg left running: %v", pids)
			}
			waitNoFFmpeg(t)
		})
	}
	var ee *errs.Error
	if err := e.call(protocol.MethodOutStop, protocol.SessionStop{ID: "o1"}, nil); !errors.As(err, &ee) || ee.Code != errs.CodeNotFound {
		t.Fatalf("out.stop of a failed session = %v, want not found", err)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
