// Package chaos kills and restarts the processes and servers of a distributed Conclave
// deployment and checks the failure contract of ARCHITECTURE.md §9: every process is a real
// binary, every server (RabbitMQ, FerretDB, nginx-rtmp) a real one on loopback, and each test
// logs a "fault → recovery" table (lines starting with RECOVERY).
//
// How the faults are made, each isolated from the tests running in parallel:
//   - process deaths: SIGKILL to one binary of a deployment that has its own bus prefix on
//     the shared broker and its own database on the shared FerretDB (TestChaosProcessKills);
//   - broker restart: a RabbitMQ node of the test's own (own node name, ports, cookie, config
//     and state directory), taken down with `rabbitmqctl stop_app` for 5 s (longer than the
//     registries' 3-beat expiry) and brought back with `start_app` (TestChaosBrokerRestart);
//   - database outage: a FerretDB server of the test's own, stopped during a REST load and
//     restarted on the same port and data (TestChaosDatabaseOutage).
//
// Deadlines are the contract's bounds made generous (15 s for what must happen within 5 s);
// the measured times are logged, not asserted.
package chaos

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/testutil"
)

// commands are the per-role binaries of a distributed deployment, by directory.
var commands = []string{
	"management-api/cmd/management-api", "portal/cmd/portal", "conference-agent/cmd/conference-agent",
	"webrtc-agent/cmd/webrtc-agent", "recording-agent/cmd/recording-agent", "streaming-agent/cmd/streaming-agent",
}

// The binaries are built once per test binary, without the race detector: these tests look
// at fault recovery across processes, and race-instrumented agents would make the whole
// package several times slower on the 2-core machines (the agents' own packages run their
// tests under -race).
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// repoRoot is the workspace root (this file lives in <root>/e2e/chaos).
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// binary returns the path of a built command named after its directory.
func binary(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "conclave-chaos-bin")
		if buildErr != nil {
			return
		}
		args := []string{"build", "-o", binDir + string(filepath.Separator)}
		for _, c := range commands {
			args = append(args, "./"+c)
		}
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

// need skips the test (fails it under CONCLAVE_REQUIRE_INTEGRATION) when a tool is missing.
func need(t *testing.T, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv(testutil.EnvRequire) != "" {
		t.Fatalf("%s is missing (%s is set)", what, testutil.EnvRequire)
	}
	t.Skipf("%s is missing", what)
}

// onPath reports whether every tool is found on PATH or at its absolute path.
func onPath(tools ...string) bool {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return false
		}
	}
	return true
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

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// waitPort polls until something accepts TCP on 127.0.0.1:port.
func waitPort(port int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond); err == nil {
			_ = c.Close()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// syncBuffer collects a process's output.
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

// proc is a process started by a test; it is stopped when the test ends and its output is
// shown when the test failed.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
	err    error
}

// start runs bin with env added to the environment.
func start(t *testing.T, name, bin string, args []string, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	// A test binary that dies must not leave servers behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, out: out, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.stop(10 * time.Second)
		if t.Failed() {
			t.Logf("--- output of %s ---\n%s", p.name, tail(out.String(), 12000))
		}
	})
	return p
}

// tail keeps the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// stop sends SIGTERM and waits up to timeout, then kills.
func (p *proc) stop(timeout time.Duration) error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%s did not stop within %s", p.name, timeout)
	}
}

// kill9 sends SIGKILL and waits for the process to be gone; it returns the kill time.
func (p *proc) kill9(t *testing.T) time.Time {
	t.Helper()
	at := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.exited
	return at
}

// alive reports whether the process still runs.
func (p *proc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// waitOutput polls the process's output until ok accepts it.
func (p *proc) waitOutput(t *testing.T, what string, within time.Duration, ok func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok(p.out.String()) {
		if !p.alive() {
			t.Fatalf("%s exited while waiting for %s: %v", p.name, what, p.err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s not within %s", p.name, what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hasLine reports whether a line of out contains every part.
func hasLine(out string, parts ...string) bool {
	for line := range strings.Lines(out) {
		all := true
		for _, p := range parts {
			if !strings.Contains(line, p) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// recovery collects the measured recovery times of a test and logs them as a table.
type recovery struct {
	mu   sync.Mutex
	rows []string
}

// add records that fault took d to recover from (what names the observed recovery).
func (r *recovery) add(t *testing.T, fault, what string, d time.Duration) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	row := fmt.Sprintf("%-40s %-55s %8s", fault, what, d.Round(time.Millisecond))
	r.rows = append(r.rows, row)
	t.Logf("RECOVERY %s", row)
}

// log prints every row.
func (r *recovery) log(t *testing.T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Logf("fault → recovery times:\n%s", strings.Join(r.rows, "\n"))
}
