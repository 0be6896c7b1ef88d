package soak

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	busamqp "github.com/conclave-rtc/conclave/common/bus/amqp"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/testutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
)

// distributed is a deployment of every separate binary on RabbitMQ and a MongoDB-wire server.
type distributed struct {
	procs  map[string]*e2eutil.Proc
	super  e2eutil.RESTClient
	portal string
	recDir string
	prefix string
	amqp   string
}

// agentNames are the separate binaries, in the order TestDrain stops them: media agents
// first (their sessions are finalised), then the portal (its sockets close), then the rest.
var agentNames = []string{"streaming-agent", "recording-agent", "portal", "webrtc-agent", "conference-agent", "management-api"}

// startDistributed runs every separate binary and waits until the management API answers
// and every agent is announced in the cluster.
func startDistributed(t *testing.T) *distributed {
	t.Helper()
	amqpURL, mongoURI := testutil.AMQPURL(t), testutil.MongoURI(t)
	cluster := e2eutil.NewCluster(amqpURL, mongoURI, "soak")
	d := &distributed{procs: map[string]*e2eutil.Proc{}, portal: fmt.Sprintf("127.0.0.1:%d", e2eutil.FreePort(t)),
		recDir: t.TempDir(), prefix: cluster.Prefix, amqp: amqpURL}
	mport := e2eutil.FreePort(t)
	d.super = cluster.Client(fmt.Sprintf("http://127.0.0.1:%d", mport))
	d.super.Timeout = restTimeout
	env := append(cluster.Env,
		"CONCLAVE_PORTAL_LISTEN="+d.portal,
		"CONCLAVE_PORTAL_PUBLIC_HOST="+d.portal,
		fmt.Sprintf("CONCLAVE_MANAGEMENT_LISTEN=127.0.0.1:%d", mport),
		"CONCLAVE_DATA_DIR="+t.TempDir(),
		"CONCLAVE_CONFIG="+e2eutil.WriteConfig(t, e2eutil.LoopbackWebRTCConfig+"recording:\n  dir: "+d.recDir+"\n"),
	)
	for _, name := range agentNames {
		d.procs[name] = e2eutil.Start(t, bins.Path(t, name), nil, env...)
	}
	all := d.all()
	e2eutil.WaitUntil(t, "management API", time.Minute, func() bool { return e2eutil.HTTPOK(d.super.Base + "/readyz") }, all...)
	reg := d.registry(t)
	for _, purpose := range []string{"portal", "conference", "webrtc", "recording", "streaming"} {
		e2eutil.WaitUntil(t, purpose+" agent announced", time.Minute, func() bool { return len(reg.Workers(purpose)) > 0 }, all...)
	}
	return d
}

func (d *distributed) all() []*e2eutil.Proc {
	var out []*e2eutil.Proc
	for _, p := range d.procs {
		out = append(out, p)
	}
	return out
}

// registry follows the deployment's cluster announcements from the test process.
func (d *distributed) registry(t *testing.T) *cluster.Registry {
	t.Helper()
	b, err := busamqp.New(busamqp.Config{URL: d.amqp, Prefix: d.prefix})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := cluster.NewRegistry(b, cluster.RegistryConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- reg.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; _ = b.Close() })
	return reg
}

// uploads accepts HLS PUT uploads and counts them by file suffix.
type uploads struct {
	mu    sync.Mutex
	count map[string]int
}

func (u *uploads) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.count[filepath.Ext(r.URL.Path)]++
	u.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (u *uploads) n(ext string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.count[ext]
}

// TestDrainOnSIGTERM runs a distributed deployment with a publisher, a recording, an HLS
// streaming-out and a signaling-only participant, then sends SIGTERM to each binary in turn:
// each must exit with status 0 after logging its drain, leave no child process, and hand over
// or finish its work (the recording file is complete, the participant's socket is closed).
// Exit times are logged.
func TestDrainOnSIGTERM(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv(testutil.EnvRequire) != "" {
			t.Fatal("ffmpeg is required")
		}
		t.Skip("ffmpeg not installed")
	}
	d := startDistributed(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	room := d.super.CreateRoom(t, "drain")
	_, stream := publish(ctx, t, d.super, room, "publisher")
	viewer, ack := rawLogin(ctx, t, d.portal, d.super.MustToken(t, room, "viewer", "presenter", ""))
	if st, detail := ackStatus(ack); st != "ok" {
		t.Fatalf("viewer login: %s %s", st, detail)
	}

	media := map[string]any{"audio": map[string]any{"from": stream}, "video": map[string]any{"from": stream}}
	e2eutil.Must(t, d.super.Do(t, "POST", "/v1/rooms/"+room+"/recordings", map[string]any{"container": "mkv", "media": media}), http.StatusOK)
	up := &uploads{count: map[string]int{}}
	hls := httptest.NewServer(up)
	defer hls.Close()
	e2eutil.Must(t, d.super.Do(t, "POST", "/v1/rooms/"+room+"/streaming-outs", map[string]any{"protocol": "hls",
		"url": hls.URL + "/live/index.m3u8", "parameters": map[string]any{"method": "PUT", "hlsTime": 1, "hlsListSize": 3},
		"media": media}), http.StatusOK)
	e2eutil.WaitUntil(t, "HLS segments uploaded", time.Minute, func() bool { return up.n(".ts") >= 2 }, d.all()...)
	if kids := descendants(d.procs["streaming-agent"].PID()); len(kids) == 0 {
		t.Fatal("streaming-agent runs no ffmpeg while its streaming-out uploads")
	}

	for _, name := range agentNames {
		p := d.procs[name]
		kids := descendants(p.PID())
		begin := time.Now()
		err := p.Stop(30 * time.Second)
		exitTime := time.Since(begin)
		t.Logf("%s: exit after %s (%d child processes before)", name, exitTime.Round(time.Millisecond), len(kids))
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("%s: %v", name, err)
		}
		if code := p.ExitCode(); code != 0 {
			t.Fatalf("%s exited with status %d\n%s", name, code, p.Stderr())
		}
		if !strings.Contains(p.Stderr(), `msg=draining`) {
			t.Errorf("%s did not log its drain", name)
		}
		for _, k := range kids {
			if k.running() {
				t.Errorf("%s left child process %d (%s) running", name, k.pid, k.comm)
			}
		}
		afterStop(t, name, d, viewer.Done())
	}
	if reason := viewer.Reason(); reason != "" {
		t.Logf("the portal's participant saw its connection end with %q", reason)
	}
}

// afterStop checks what stopping name must have completed.
func afterStop(t *testing.T, name string, d *distributed, viewerDone <-chan struct{}) {
	t.Helper()
	switch name {
	case "recording-agent":
		files, _ := filepath.Glob(filepath.Join(d.recDir, "*.mkv"))
		if len(files) != 1 {
			t.Fatalf("recording files %v, want one", files)
		}
		dur := e2eutil.Probe(t, files[0]).Duration.Seconds()
		t.Logf("recording finalised on drain: %s, %.2f s", filepath.Base(files[0]), dur)
		if dur <= 0 {
			t.Fatalf("recording %s has no duration", files[0])
		}
	case "portal":
		t.Logf("participant socket closed %s after the portal exited", waitClosed(t, "viewer", viewerDone).Round(time.Millisecond))
	}
}

// procEntry identifies a process by pid and start time (so a reused pid is not mistaken for
// it).
type procEntry struct {
	pid   int
	start string
	comm  string
}

// statFields reads /proc/pid/stat: the command name and the fields after it.
func statFields(pid int) (comm string, fields []string, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", nil, false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open || end+2 > len(s) {
		return "", nil, false
	}
	return s[open+1 : end], strings.Fields(s[end+2:]), true
}

// running reports whether the process still exists (and is not a zombie).
func (p procEntry) running() bool {
	_, f, ok := statFields(p.pid)
	return ok && len(f) > 19 && f[19] == p.start && f[0] != "Z"
}

// descendants lists every process below pid.
func descendants(pid int) []procEntry {
	entries, _ := os.ReadDir("/proc")
	parent := map[int][]procEntry{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, f, ok := statFields(n)
		if !ok || len(f) < 20 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		parent[ppid] = append(parent[ppid], procEntry{pid: n, start: f[19], comm: comm})
	}
	var out []procEntry
	queue := []int{pid}
	for len(queue) > 0 {
		for _, c := range parent[queue[0]] {
			out = append(out, c)
			queue = append(queue, c.pid)
		}
		queue = queue[1:]
	}
	return out
}
