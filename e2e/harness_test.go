package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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
	"sync"
	"syscall"
	"testing"
	"time"
)

// binaries are built once per test run into a shared temporary directory.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// repoRoot is the root of the workspace (this file lives in <root>/e2e).
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// binary returns the path of a built command: "conclave", "management-api", "portal",
// "conference-agent" or "webrtc-agent".
func binary(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "conclave-e2e-bin")
		if buildErr != nil {
			return
		}
		// One go build for every command (each named after its directory), with the race
		// detector exactly when the test binary has it (see raceEnabled).
		args := []string{"build", "-o", binDir + string(filepath.Separator)}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "./cmd/conclave", "./management-api/cmd/management-api", "./portal/cmd/portal",
			"./conference-agent/cmd/conference-agent", "./webrtc-agent/cmd/webrtc-agent")
		cmd := exec.Command("go", args...)
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

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// proc is a Conclave process started by a test.
type proc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
	err    error
}

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

// start runs bin with env added to the test process's environment; the process is stopped
// (SIGTERM, then SIGKILL) when the test ends, and its output is shown if the test failed.
func start(t *testing.T, bin string, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, name: filepath.Base(bin), cmd: cmd, out: out, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.stop(10 * time.Second)
		if t.Failed() {
			t.Logf("--- output of %s ---\n%s", p.name, out.String())
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

// waitHTTP polls url until it answers 200 or the deadline passes.
func waitHTTP(t *testing.T, p *proc, url string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			t.Fatalf("%s exited: %v\n%s", p.name, p.err, p.out.String())
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not ready within %s\n%s", url, within, p.out.String())
}

// client signs requests the way OWT's JavaScript REST client does (owt-protocol.md §2.4),
// computed here independently of the server's mauth package.
type client struct {
	base      string
	serviceID string
	key       string
}

func (c client) authHeader() string {
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	cnonce := hex.EncodeToString(nonce)
	return fmt.Sprintf("MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA256,mauth_serviceid=%s,mauth_cnonce=%s,mauth_timestamp=%s,mauth_signature=%s",
		c.serviceID, cnonce, ts, owtSignature(c.key, ts+","+cnonce))
}

// owtSignature is base64 of the lower-case hex HMAC-SHA256, as OWT computes it.
func owtSignature(key, toSign string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(m.Sum(nil))))
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

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// do sends a signed request; body may be nil, a []byte (sent as is) or a value to JSON-encode.
func (c client) do(t *testing.T, method, path string, body any) response {
	t.Helper()
	return c.send(t, method, path, body, c.authHeader())
}

func (c client) send(t *testing.T, method, path string, body any, auth string) response {
	t.Helper()
	var rd io.Reader
	ctype := "text/plain;charset=UTF-8" // what OWT's JS client sends without a body
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ctype = bytes.NewReader(b), "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Body: b}
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
