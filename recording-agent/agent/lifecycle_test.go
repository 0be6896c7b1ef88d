package agent

import (
	"bytes"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// TestHelperRecorderProcess is not a test: run by TestRecordingSurvivesSIGKILL in a child
// process, it records into RECORDING_HELPER_DIR until killed.
func TestHelperRecorderProcess(t *testing.T) {
	dir := os.Getenv("RECORDING_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process only")
	}
	h := newHarness(t, Config{Dir: dir})
	h.publish(t, "pub", "video/VP8", "audio/opus", 0)
	req := protocol.RecStart{ID: "killed", Container: "mkv", Video: track("pub-video", "vp8"), Audio: track("pub-audio", "opus")}
	if err := h.call(protocol.MethodRecStart, req, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "started"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Minute) // until SIGKILL
}

func TestRecordingSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperRecorderProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "RECORDING_HELPER_DIR="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatal("helper did not start recording")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(2500 * time.Millisecond) // mid-recording
	if err := cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	file := filepath.Join(dir, "killed.mkv")
	p := ffprobe(t, file)
	if p.codecs() != "video:vp8,audio:opus" || p.duration() < 1 {
		t.Fatalf("killed file: streams %s, duration %.3f", p.codecs(), p.duration())
	}
	if err := decodes(t, file); err != nil {
		t.Fatalf("killed file does not decode: %v", err)
	}
	if finalised(t, file) {
		t.Fatal("the killed recording was finalised: the test did not cut it")
	}
	t.Logf("after SIGKILL at 2.5 s: %.3f s readable", p.duration())
}

func TestRecordingSwitchSource(t *testing.T) {
	tests := []struct{ container, mime, codec string }{
		{"mkv", "video/VP8", "vp8"},
		{"mp4", "video/H264", "h264"},
	}
	for _, tc := range tests {
		t.Run(tc.container, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.publish(t, "a", tc.mime, "audio/opus", 0)
			h.publish(t, "b", tc.mime, "audio/opus", 0)
			req := protocol.RecStart{ID: "switch", Controller: controller, Container: tc.container,
				Video: track("a-video", tc.codec), Audio: track("a-audio", "opus")}
			file, wall := recordFor(t, h, req, 4*time.Second, func() {
				time.Sleep(1500 * time.Millisecond)
				upd := protocol.SessionUpdate{ID: "switch", Video: track("b-video", tc.codec), Audio: track("b-audio", "opus")}
				if err := h.call(protocol.MethodRecUpdate, upd, nil); err != nil {
					t.Errorf("rec.update: %v", err)
				}
				bad := protocol.SessionUpdate{ID: "switch", Video: track("b-audio", tc.codec)}
				if err := h.call(protocol.MethodRecUpdate, bad, nil); err == nil {
					t.Error("rec.update to an audio track as video succeeded")
				}
			})
			if h.pub.Keyframes("b-video") == 0 {
				t.Fatal("no keyframe requested from the new source")
			}
			p := ffprobe(t, file)
			wall.checkDuration(t, p.duration(), "with a switch")
			if err := decodes(t, file); err != nil {
				t.Fatalf("decode: %v", err)
			}
		})
	}
}

func TestRecordingSourceLostFails(t *testing.T) {
	h := newHarness(t, Config{})
	h.publish(t, "pub", "video/VP8", "audio/opus", 0)
	req := protocol.RecStart{ID: "lost", Controller: controller, Container: "mkv", Video: track("pub-video", "vp8"), Audio: track("pub-audio", "opus")}
	var started protocol.SessionStarted
	if err := h.call(protocol.MethodRecStart, req, &started); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	h.pub.Remove("pub-video") // the publication ends: links close, re-export fails
	ev := h.waitEvent(t, "lost", protocol.SessionEventFailed)
	if !strings.Contains(ev.Reason, "video source lost") {
		t.Fatalf("failure reason %q", ev.Reason)
	}
	if err := decodes(t, started.File); err != nil {
		t.Fatalf("failed recording's file: %v", err)
	}
	if err := h.call(protocol.MethodRecStop, protocol.SessionStop{ID: "lost"}, nil); errs.As(err).Code != errs.CodeNotFound {
		t.Fatalf("rec.stop after failure = %v", err)
	}
}

func TestRecordingAdmission(t *testing.T) {
	t.Run("disk space", func(t *testing.T) {
		h := newHarness(t, Config{MinFreeBytes: math.MaxInt64})
		h.publish(t, "pub", "", "audio/opus", 0)
		err := h.call(protocol.MethodRecStart, protocol.RecStart{ID: "d", Container: "mkv", Audio: track("pub-audio", "opus")}, nil)
		var e *errs.Error
		if !errors.As(err, &e) || e.Code != errs.CodeCluster || !strings.Contains(e.Message, "disk space") {
			t.Fatalf("rec.start on a full disk = %v", err)
		}
	})
	t.Run("capacity", func(t *testing.T) {
		h := newHarness(t, Config{Capacity: 1})
		h.publish(t, "pub", "", "audio/opus", 0)
		if err := h.call(protocol.MethodRecStart, protocol.RecStart{ID: "one", Container: "mkv", Audio: track("pub-audio", "opus")}, nil); err != nil {
			t.Fatal(err)
		}
		if got := h.agent.load(); got < cluster85() {
			t.Fatalf("load of a full agent = %v", got)
		}
		err := h.call(protocol.MethodRecStart, protocol.RecStart{ID: "two", Container: "mkv", Audio: track("pub-audio", "opus")}, nil)
		if e := errs.As(err); e.Code != errs.CodeCluster || !strings.Contains(e.Message, "full") {
			t.Fatalf("second rec.start = %v", err)
		}
		err = h.call(protocol.MethodRecStart, protocol.RecStart{ID: "one", Container: "mkv", Audio: track("pub-audio", "opus")}, nil)
		if errs.As(err).Code != errs.CodeBadRequest {
			t.Fatalf("duplicate rec.start = %v", err)
		}
	})
}

func cluster85() float64 { return 0.85 }

// TestRecordingShutdownFinalises stops the agent with recordings running: Run returns only
// after every file is complete, and no goroutine is left behind.
func TestRecordingShutdownFinalises(t *testing.T) {
	before := runtime.NumGoroutine()
	var files []string
	dir := t.TempDir()
	t.Run("record", func(t *testing.T) { // its cleanup stops the agent
		h := newHarness(t, Config{Dir: dir})
		h.publish(t, "pub", "video/VP8", "audio/opus", 0)
		for _, id := range []string{"s1", "s2"} {
			var st protocol.SessionStarted
			req := protocol.RecStart{ID: id, Controller: controller, Container: "mkv", Video: track("pub-video", "vp8"), Audio: track("pub-audio", "opus")}
			if err := h.call(protocol.MethodRecStart, req, &st); err != nil {
				t.Fatal(err)
			}
			files = append(files, st.File)
		}
		time.Sleep(1500 * time.Millisecond)
	})
	for _, f := range files {
		p := ffprobe(t, f)
		if p.duration() < 1 {
			t.Fatalf("%s: duration %.3f after shutdown", f, p.duration())
		}
		if err := decodes(t, f); err != nil {
			t.Fatal(err)
		}
		if !finalised(t, f) {
			t.Fatalf("%s has no Cues at its end: not finalised", f)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines %d > %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// finalised reports whether the file has Cues after its last cluster (written by Close).
func finalised(t *testing.T, path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	last := bytes.LastIndex(b, []byte{0x1F, 0x43, 0xB6, 0x75})
	return last > 0 && bytes.Contains(b[last:], []byte{0x1C, 0x53, 0xBB, 0x6B})
}
