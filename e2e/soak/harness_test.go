package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/mauth"
)

// commands are every binary the tests run, each built into a file named after its directory.
var commands = []string{"./cmd/conclave", "./management-api/cmd/management-api", "./portal/cmd/portal",
	"./conference-agent/cmd/conference-agent", "./webrtc-agent/cmd/webrtc-agent",
	"./recording-agent/cmd/recording-agent", "./streaming-agent/cmd/streaming-agent"}

// binaries are built once per test run into a shared temporary directory.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// repoRoot is the root of the workspace (this file lives in <root>/e2e/soak).
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// binary returns the path of a built command, with the race detector exactly when the test
// binary has it.
func binary(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "conclave-soak-bin")
		if buildErr != nil {
			return
		}
		args := []string{"build", "-o", binDir + string(filepath.Separator)}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, commands...)...)
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

// givenPorts are the ports freePort handed out, never handed out twice in one test run.
var (
	givenMu    sync.Mutex
	givenPorts = map[int]bool{}
)

// freePort returns a loopback TCP port that was free a moment ago and that no other caller
// in this test run was given.
func freePort(t *testing.T) int {
	t.Helper()
	givenMu.Lock()
	defer givenMu.Unlock()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !givenPorts[port] {
			givenPorts[port] = true
			return port
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a process writer and a reading test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a Conclave process started by a test. Stdout (the all-in-one banner) and stderr
// (the structured log) are kept apart.
type proc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	exited         chan struct{}
	err            error
}

// start runs bin with env added to the test's environment; it is stopped (SIGTERM, then
// SIGKILL) when the test ends, and its output is shown if the test failed.
func start(t *testing.T, bin string, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{name: filepath.Base(bin), cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.stop(20 * time.Second)
		if t.Failed() {
			t.Logf("--- output of %s ---\n%s%s", p.name, p.stdout.String(), p.stderr.String())
		}
	})
	return p
}

// stop sends SIGTERM and waits up to timeout, then kills. It returns the exit error.
func (p *proc) stop(timeout time.Duration) error {
	select {
	case <-p.exited:
		return p.err
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.err
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%s did not stop within %s", p.name, timeout)
	}
}

// alive fails the test when the process has exited.
func (p *proc) alive(t *testing.T) {
	t.Helper()
	select {
	case <-p.exited:
		t.Fatalf("%s exited: %v\n%s", p.name, p.err, p.stderr.String())
	default:
	}
}

// waitUntil polls cond every 50 ms until it holds, failing after within (a generous deadline
// that only stops a hung test) or when one of procs exits.
func waitUntil(t *testing.T, what string, within time.Duration, cond func() bool, procs ...*proc) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		for _, p := range procs {
			p.alive(t)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// httpOK reports whether a GET of url answers 200.
func httpOK(url string) bool {
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// writeConfig writes a YAML config file and returns its path (for CONCLAVE_CONFIG).
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "conclave.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// loopbackWebRTC keeps every ICE candidate and media link of a server on 127.0.0.1.
const loopbackWebRTC = `webrtc:
  interfaces: [lo]
  includeLoopback: true
  mediaLinkListen: "127.0.0.1:0"
`

// api signs management API requests as OWT's REST client does.
type api struct {
	base      string
	serviceID string
	key       string
}

// response is a decoded HTTP answer.
type response struct {
	Status int
	Body   []byte
}

// errorCode returns the OWT error code of an error body, or 0.
func (r response) errorCode() int {
	var e struct {
		Error struct {
			Code int `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// errorMessage returns the OWT error message of an error body.
func (r response) errorMessage() string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Message
}

// try sends a signed request; body nil or a value to JSON-encode.
func (c api) try(method, path string, body any) (response, error) {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(j)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", mauth.Header(c.serviceID, c.key, time.Now().UnixMilli(), ids.RandomHex(8)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Body: b}, err
}

// do is try failing the test on a transport error.
func (c api) do(t *testing.T, method, path string, body any) response {
	t.Helper()
	r, err := c.try(method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// must asserts the status of r and returns it.
func must(t *testing.T, r response, status int) response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// mustError asserts an OWT error answer.
func mustError(t *testing.T, r response, status, code int) {
	t.Helper()
	if r.Status != status || r.errorCode() != code {
		t.Fatalf("got %d/%d, want %d/%d: %s", r.Status, r.errorCode(), status, code, r.Body)
	}
}

// createRoom creates a room and returns its id.
func createRoom(t *testing.T, c api, name string) string {
	t.Helper()
	var r struct {
		ID string `json:"_id"`
	}
	if err := json.Unmarshal(must(t, c.do(t, "POST", "/v1/rooms", map[string]any{"name": name}), http.StatusOK).Body, &r); err != nil || !ids.IsObjectID(r.ID) {
		t.Fatalf("room answer: %v %+v", err, r)
	}
	return r.ID
}

// createService has the super service create a tenant and returns its client.
func createService(t *testing.T, super api, name string) api {
	t.Helper()
	key := ids.RandomHex(24)
	var s struct {
		ID string `json:"_id"`
	}
	r := must(t, super.do(t, "POST", "/services", map[string]string{"name": name, "key": key}), http.StatusOK)
	if err := json.Unmarshal(r.Body, &s); err != nil || !ids.IsObjectID(s.ID) {
		t.Fatalf("service answer %s", r.Body)
	}
	return api{base: super.base, serviceID: s.ID, key: key}
}

// newToken creates a join token.
func (c api) newToken(roomID, user, role string) (string, error) {
	r, err := c.try("POST", "/v1/rooms/"+roomID+"/tokens", map[string]any{"user": user, "role": role})
	if err != nil {
		return "", err
	}
	if r.Status != http.StatusOK {
		return "", fmt.Errorf("token: %d %s", r.Status, r.Body)
	}
	return string(r.Body), nil
}

// mustToken is newToken failing the test.
func (c api) mustToken(t *testing.T, roomID, user string) string {
	t.Helper()
	tok, err := c.newToken(roomID, user, "presenter")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// server is a running all-in-one process.
type server struct {
	proc   *proc
	super  api
	portal string // host:port
	pprof  string // host:port of net/http/pprof
}

// startAllInOne runs the all-in-one binary with loopback media, a known super service and
// pprof, with yaml appended to the config, and waits until the API and portal answer.
func startAllInOne(t *testing.T, yaml string, env ...string) server {
	t.Helper()
	mport, pport, dport := freePort(t), freePort(t), freePort(t)
	s := server{portal: fmt.Sprintf("127.0.0.1:%d", pport), pprof: fmt.Sprintf("127.0.0.1:%d", dport)}
	s.super = api{base: fmt.Sprintf("http://127.0.0.1:%d", mport), serviceID: ids.ObjectID(), key: ids.RandomHex(32)}
	env = append([]string{
		"CONCLAVE_CONFIG=" + writeConfig(t, loopbackWebRTC+yaml),
		"CONCLAVE_DATA_DIR=" + t.TempDir(),
		fmt.Sprintf("CONCLAVE_MANAGEMENT_LISTEN=127.0.0.1:%d", mport),
		"CONCLAVE_PORTAL_LISTEN=" + s.portal,
		"CONCLAVE_PORTAL_PUBLIC_HOST=" + s.portal,
		"CONCLAVE_BUS_URL=", "CONCLAVE_MONGO_URI=", "CONCLAVE_CLUSTER_KEY=",
		"CONCLAVE_SUPER_SERVICE_ID=" + s.super.serviceID,
		"CONCLAVE_SUPER_SERVICE_KEY=" + s.super.key,
		"CONCLAVE_PPROF_LISTEN=" + s.pprof,
	}, env...)
	s.proc = start(t, binary(t, "conclave"), env...)
	waitUntil(t, "management API", time.Minute, func() bool { return httpOK(s.super.base + "/healthz") }, s.proc)
	waitUntil(t, "portal", time.Minute, func() bool { return httpOK("http://" + s.portal + "/healthz") }, s.proc)
	return s
}

// runtimeStats are the server's goroutine count and live heap after a forced GC, read from
// its pprof endpoints.
type runtimeStats struct {
	Goroutines int
	HeapAlloc  int64
}

func (s server) stats(t *testing.T) runtimeStats {
	t.Helper()
	var st runtimeStats
	g := s.pprofText(t, "/debug/pprof/goroutine?debug=1")
	if _, err := fmt.Sscanf(g, "goroutine profile: total %d", &st.Goroutines); err != nil {
		t.Fatalf("goroutine profile %.100q: %v", g, err)
	}
	h := s.pprofText(t, "/debug/pprof/heap?debug=1&gc=1")
	_, rest, ok := strings.Cut(h, "\n# HeapAlloc = ")
	if !ok {
		t.Fatal("heap profile without HeapAlloc")
	}
	n, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(rest, "\n", 2)[0]), 10, 64)
	if err != nil {
		t.Fatalf("HeapAlloc: %v", err)
	}
	st.HeapAlloc = n
	return st
}

func (s server) pprofText(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + s.pprof + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return string(b)
}
