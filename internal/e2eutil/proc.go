package e2eutil

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SyncBuffer is a bytes.Buffer safe for a process writing and a test reading at once.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ErrStopTimeout is wrapped by Proc.Stop when the process outlived SIGTERM and was killed.
var ErrStopTimeout = errors.New("did not stop in time")

// cleanupStop bounds how long the end of a test waits for a process to exit on SIGTERM.
const cleanupStop = 20 * time.Second

// outputGrace is how long the output of an exited process is still read.
const outputGrace = 2 * time.Second

// failureTail is how much of a process's output a failed test shows.
const failureTail = 64 << 10

// Proc is a child process started by a test, in a process group of its own. Its output is
// kept (stdout and stderr apart, and interleaved in Output).
type Proc struct {
	// Name is the base name of the binary, used in messages.
	Name string

	cmd            *exec.Cmd
	stdout, stderr SyncBuffer
	output         SyncBuffer
	exited         chan struct{}
	err            error
}

// Start runs bin with args and with env added to the test process's environment. The child
// is killed if the test binary dies (Pdeathsig); when the test ends it gets SIGTERM, then,
// after 20 s, its whole process group is killed, and its output is logged if the test failed.
func Start(t testing.TB, bin string, args []string, env ...string) *Proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &Proc{Name: filepath.Base(bin), cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout = io.MultiWriter(&p.stdout, &p.output)
	cmd.Stderr = io.MultiWriter(&p.stderr, &p.output)
	// Children left running (after a Kill) may hold the output pipes open: the exit is not
	// held up by them for more than this.
	cmd.WaitDelay = outputGrace
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		err := cmd.Wait()
		if errors.Is(err, exec.ErrWaitDelay) {
			err = nil // the process itself exited 0; only its output was cut
		}
		p.err = err
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.Stop(cleanupStop)
		// Children the process left behind in its group go with it.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("--- output of %s ---\n%s", p.Name, Tail(p.output.String(), failureTail))
		}
	})
	return p
}

// Tail keeps the last n bytes of s.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// PID is the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Output is everything the process wrote so far, stdout and stderr interleaved.
func (p *Proc) Output() string { return p.output.String() }

// Stdout is what the process wrote to its standard output.
func (p *Proc) Stdout() string { return p.stdout.String() }

// Stderr is what the process wrote to its standard error.
func (p *Proc) Stderr() string { return p.stderr.String() }

// Exited is closed when the process has exited.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Alive reports whether the process still runs.
func (p *Proc) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Err is the exit error once the process has exited (nil for exit status 0).
func (p *Proc) Err() error {
	<-p.exited
	return p.err
}

// ExitCode is the exit status, or -1 while the process runs or when a signal ended it.
func (p *Proc) ExitCode() int {
	if p.Alive() {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Stop sends SIGTERM to the process (not its children: a graceful stop is the process's own
// business) and waits up to timeout; then it kills the process group. It returns the exit
// error, or an error wrapping ErrStopTimeout after a kill.
func (p *Proc) Stop(timeout time.Duration) error {
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
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		return fmt.Errorf("%s: %w (%s)", p.Name, ErrStopTimeout, timeout)
	}
}

// Kill sends SIGKILL to the process alone, as a crash would end it, waits until it is gone
// and returns the time of the kill.
func (p *Proc) Kill(t testing.TB) time.Time {
	t.Helper()
	at := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", p.Name, err)
	}
	<-p.exited
	return at
}

// RequireAlive fails the test, showing the process's stderr, when the process has exited.
func (p *Proc) RequireAlive(t testing.TB) {
	t.Helper()
	if !p.Alive() {
		t.Fatalf("%s exited: %v\n%s", p.Name, p.err, Tail(p.stderr.String(), failureTail))
	}
}

// WaitOutput polls the process's output until ok accepts it; it fails the test when the
// process exits first or within passes.
func (p *Proc) WaitOutput(t testing.TB, what string, within time.Duration, ok func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok(p.output.String()) {
		if !p.Alive() {
			t.Fatalf("%s exited while waiting for %s: %v\n%s", p.Name, what, p.err, Tail(p.output.String(), failureTail))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s not within %s\n%s", p.Name, what, within, Tail(p.output.String(), failureTail))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitUntil polls cond every 50 ms until it holds, failing the test after within (a generous
// deadline that only stops a hung test) or when one of procs exits.
func WaitUntil(t testing.TB, what string, within time.Duration, cond func() bool, procs ...*Proc) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		for _, p := range procs {
			p.RequireAlive(t)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
