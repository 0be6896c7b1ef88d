package recorder

import (
	"errors"
	"fmt"
	"github.com/conclave-rtc/conclave/common/udpport"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// ffmpegReady bounds the wait for ffmpeg to bind its RTP ports.
	ffmpegReady = 5 * time.Second
	// ffmpegQuitKey is how long 'q' gets: ffmpeg reads its keys only between packets, so
	// it does not see 'q' once the input is idle.
	ffmpegQuitKey = 500 * time.Millisecond
	// ffmpegQuit bounds the wait after SIGINT (which interrupts a blocked read and still
	// finalises the file) before SIGKILL.
	ffmpegQuit = 10 * time.Second
)

// ErrFFmpeg: ffmpeg failed to start or exited with an error.
var ErrFFmpeg = errors.New("recorder: ffmpeg failed")

// ffmpeg is one ffmpeg process reading RTP described by an SDP file on loopback and writing
// a fragmented MP4 (an interrupted file stays readable up to its last fragment).
type ffmpeg struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *tailBuffer
	sdp    string
	exited chan struct{}
	err    error // set before exited closes
	key    sync.Once
	quit   sync.Once
}

// startFFmpeg writes the SDP next to path, starts ffmpeg and waits until it listens on
// every port.
func startFFmpeg(bin, path, sdp string, ports []int, hasVideo, hasAudio bool) (*ffmpeg, error) {
	sdpPath := path + ".sdp"
	if err := os.WriteFile(sdpPath, []byte(sdp), 0o600); err != nil {
		return nil, fmt.Errorf("recorder: write sdp: %w", err)
	}
	args := []string{"-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file,udp,rtp",
		"-fflags", "+genpts", "-reorder_queue_size", "256", "-i", sdpPath}
	if hasVideo {
		args = append(args, "-map", "0:v", "-c:v", "copy")
	}
	if hasAudio {
		args = append(args, "-map", "0:a", "-c:a", "aac", "-b:a", "128k", "-ar", "48000")
	}
	args = append(args, "-movflags", "+frag_keyframe+empty_moov+delay_moov+default_base_moof", "-frag_duration", "1000000",
		"-f", "mp4", "-y", path)
	f := &ffmpeg{cmd: exec.Command(bin, args...), stderr: &tailBuffer{max: 4096}, sdp: sdpPath, exited: make(chan struct{})}
	f.cmd.Stderr = f.stderr
	stdin, err := f.cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFFmpeg, err)
	}
	f.stdin = stdin
	if err := f.cmd.Start(); err != nil {
		_ = os.Remove(sdpPath)
		return nil, fmt.Errorf("%w: start: %v", ErrFFmpeg, err)
	}
	go f.wait()
	if err := f.waitListening(ports); err != nil {
		_ = f.stop()
		return nil, err
	}
	return f, nil
}

func (f *ffmpeg) wait() {
	err := f.cmd.Wait()
	if err != nil {
		f.err = fmt.Errorf("%w: %v: %s", ErrFFmpeg, err, strings.TrimSpace(f.stderr.String()))
	}
	_ = os.Remove(f.sdp)
	close(f.exited)
}

// waitListening polls until every port is bound (by ffmpeg) or ffmpeg exits. A port already
// bound at the first look, before ffmpeg can have opened its input, is someone else's: ffmpeg
// is then given a moment to fail on it (the caller retries with other ports).
func (f *ffmpeg) waitListening(ports []int) error {
	deadline := time.Now().Add(ffmpegReady)
	for _, p := range ports {
		if udpport.Free(p) {
			continue
		}
		select {
		case <-f.exited:
			return f.exitErr()
		case <-time.After(takenPortGrace):
		}
		break
	}
	for _, p := range ports {
		for udpport.Free(p) {
			select {
			case <-f.exited:
				return f.exitErr()
			case <-time.After(10 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%w: not listening on port %d after %v", ErrFFmpeg, p, ffmpegReady)
			}
		}
	}
	return nil
}

// takenPortGrace is how long ffmpeg may take to fail on a port another socket holds.
const takenPortGrace = time.Second

func (f *ffmpeg) exitErr() error {
	if f.err != nil {
		return f.err
	}
	return fmt.Errorf("%w: exited early", ErrFFmpeg)
}

// quitKey sends 'q' (once) and waits up to wait for ffmpeg to exit.
func (f *ffmpeg) quitKey(wait time.Duration) {
	f.key.Do(func() {
		_, _ = f.stdin.Write([]byte("q"))
		_ = f.stdin.Close()
	})
	select {
	case <-f.exited:
	case <-time.After(wait):
	}
}

// stop ends ffmpeg: its quit key first; if the input is idle, two SIGINTs (the second
// interrupts the blocked read; ffmpeg still writes its trailer), finally SIGKILL. It
// returns ffmpeg's exit error.
func (f *ffmpeg) stop() error {
	f.quit.Do(func() {
		f.quitKey(ffmpegQuitKey)
		for _, step := range []struct {
			wait time.Duration
			sig  os.Signal
		}{{0, os.Interrupt}, {100 * time.Millisecond, os.Interrupt}, {ffmpegQuit, syscall.SIGKILL}} {
			select {
			case <-f.exited:
				return
			case <-time.After(step.wait):
				_ = f.cmd.Process.Signal(step.sig)
			}
		}
	})
	<-f.exited
	return f.err
}

// tailBuffer keeps the last max bytes written (ffmpeg's stderr, for error messages).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
