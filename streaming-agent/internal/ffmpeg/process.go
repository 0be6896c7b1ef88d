// Package ffmpeg runs ffmpeg and ffprobe child processes for the streaming agent: start with
// a bounded capture of stderr, stop gracefully (SIGINT, then SIGKILL after a timeout), probe
// inputs, pick free loopback ports and redact credentials from URLs before they are logged.
package ffmpeg

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// DefaultStopTimeout is how long Stop waits after SIGINT before killing ffmpeg.
const DefaultStopTimeout = 5 * time.Second

// Process is one running ffmpeg. Its stderr is kept in a bounded ring of lines and its
// lines are offered to an optional watcher (readiness detection).
type Process struct {
	cmd    *exec.Cmd
	log    *Ring
	done   chan struct{}
	err    error // Wait's result, set before done closes
	stopMu sync.Mutex
	stop   bool
}

// Options configure Start.
type Options struct {
	// Binary is the ffmpeg executable (default "ffmpeg").
	Binary string
	// Lines is the number of stderr lines kept (default 64).
	Lines int
	// OnLine is called for every stderr line, from the reading goroutine (may be nil).
	OnLine func(line string)
}

// Start launches ffmpeg with args. The process is killed if the agent's process dies
// (Pdeathsig) so a crashed agent leaves no ffmpeg behind.
func Start(args []string, opt Options) (*Process, error) {
	if opt.Binary == "" {
		opt.Binary = "ffmpeg"
	}
	if opt.Lines <= 0 {
		opt.Lines = 64
	}
	cmd := exec.Command(opt.Binary, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("ffmpeg: stderr pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("ffmpeg: start %s: %w", opt.Binary, err)
	}
	p := &Process{cmd: cmd, log: NewRing(opt.Lines), done: make(chan struct{})}
	go p.wait(stderr, opt.OnLine)
	return p, nil
}

// wait reads stderr to its end, then reaps the process.
func (p *Process) wait(stderr io.Reader, onLine func(string)) {
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 4096), 64*1024)
	sc.Split(scanLines)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		p.log.Add(line)
		if onLine != nil {
			onLine(line)
		}
	}
	_, _ = io.Copy(io.Discard, stderr)
	p.err = p.cmd.Wait()
	close(p.done)
}

// scanLines splits on '\n' or '\r' (ffmpeg rewrites its progress line with '\r').
func scanLines(data []byte, atEOF bool) (int, []byte, error) {
	for i, b := range data {
		if b == '\n' || b == '\r' {
			return i + 1, data[:i], nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// PID returns the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err returns the exit error once Done is closed (nil for exit status 0).
func (p *Process) Err() error {
	<-p.done
	return p.err
}

// Stopped reports whether Stop was called (the exit was asked for).
func (p *Process) Stopped() bool {
	p.stopMu.Lock()
	defer p.stopMu.Unlock()
	return p.stop
}

// Log returns the last stderr lines.
func (p *Process) Log() []string { return p.log.Lines() }

// LastLine returns the last stderr line ("" if none), usually ffmpeg's reason for exiting.
func (p *Process) LastLine() string { return p.log.Last() }

// Stop asks ffmpeg to finish (SIGINT: it finalises its output), waits up to timeout and
// then kills it. It returns once the process is reaped. It is idempotent.
func (p *Process) Stop(timeout time.Duration) {
	if timeout <= 0 {
		timeout = DefaultStopTimeout
	}
	p.stopMu.Lock()
	p.stop = true
	p.stopMu.Unlock()
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		// The whole process group: a helper child holding stderr open would keep wait
		// from returning.
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// ExitReason describes why the process ended, for events and errors: its last stderr line
// (redacted) or the exit status.
func (p *Process) ExitReason() string {
	<-p.done
	if l := p.LastLine(); l != "" {
		return Redact(l)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.String()
	}
	if p.err != nil {
		return p.err.Error()
	}
	return "exited"
}

// Run runs a short-lived command (ffprobe) with ctx's deadline and returns its stdout; the
// error carries the last stderr line.
func Run(ctx context.Context, binary string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = time.Second
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", binary, ctx.Err())
		}
		return nil, fmt.Errorf("%s: %w: %s", binary, err, Redact(stderr.last()))
	}
	return out, nil
}
