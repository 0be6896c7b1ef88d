package e2eutil

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestProcOutputAndExit checks that stdout and stderr are kept apart and interleaved, and
// that a graceful stop returns the exit status.
func TestProcOutputAndExit(t *testing.T) {
	p := Start(t, "/bin/sh", []string{"-c", `echo out; echo err >&2; trap 'echo bye; exit 3' TERM; while :; do sleep 0.05; done`}, "E2EUTIL_TEST=1")
	p.WaitOutput(t, "both lines", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "out\n") && strings.Contains(s, "err\n")
	})
	if p.Stdout() != "out\n" || p.Stderr() != "err\n" {
		t.Fatalf("stdout %q, stderr %q", p.Stdout(), p.Stderr())
	}
	if !p.Alive() || p.ExitCode() != -1 {
		t.Fatal("the process is not running")
	}
	p.RequireAlive(t)
	err := p.Stop(10 * time.Second)
	var ee interface{ ExitCode() int }
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || p.ExitCode() != 3 {
		t.Fatalf("stop: %v (exit code %d), want status 3", err, p.ExitCode())
	}
	if !strings.Contains(p.Output(), "bye") {
		t.Fatalf("output %q", p.Output())
	}
	if p.Stop(time.Second) == nil || p.Err() == nil {
		t.Fatal("a second Stop or Err lost the exit error")
	}
}

// TestProcStopKillsGroup checks that a process ignoring SIGTERM is killed with its children.
func TestProcStopKillsGroup(t *testing.T) {
	p := Start(t, "/bin/sh", []string{"-c", `trap '' TERM; sleep 60 & echo child $!; wait`})
	var child int
	p.WaitOutput(t, "child pid", 10*time.Second, func(s string) bool {
		f := strings.Fields(s)
		if len(f) < 2 {
			return false
		}
		child, _ = strconv.Atoi(f[1])
		return child > 0
	})
	begin := time.Now()
	err := p.Stop(200 * time.Millisecond)
	if !errors.Is(err, ErrStopTimeout) {
		t.Fatalf("stop: %v, want ErrStopTimeout", err)
	}
	t.Logf("killed after %s", time.Since(begin).Round(time.Millisecond))
	WaitUntil(t, "child gone", 10*time.Second, func() bool { return !running(child) })
}

// running reports whether pid is a live (not zombie) process.
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// TestProcKill checks that Kill ends the process alone, as a crash would, and that the end
// of the test kills what it left in its group.
func TestProcKill(t *testing.T) {
	var child int
	t.Run("crash", func(t *testing.T) {
		p := Start(t, "/bin/sh", []string{"-c", `sleep 60 & echo child $!; wait`})
		p.WaitOutput(t, "child pid", 10*time.Second, func(s string) bool {
			f := strings.Fields(s)
			if len(f) >= 2 {
				child, _ = strconv.Atoi(f[1])
			}
			return child > 0
		})
		p.Kill(t)
		if p.Alive() || p.Err() == nil {
			t.Fatal("the process survived Kill or exited cleanly")
		}
		if !running(child) {
			t.Fatal("Kill also ended the child; a crash leaves it")
		}
	})
	WaitUntil(t, "orphan killed at cleanup", 10*time.Second, func() bool { return !running(child) })
}

// TestTail checks the failure-output trimming.
func TestTail(t *testing.T) {
	if Tail("abc", 5) != "abc" || Tail("abcdef", 2) != "…ef" {
		t.Fatal("Tail")
	}
}
