package e2e

import (
	"context"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/internal/e2eutil"
)

// needMediaTools skips the test when ffmpeg, ffprobe, nginx or its RTMP module are missing,
// unless CONCLAVE_REQUIRE_INTEGRATION is set: then it fails.
func needMediaTools(t *testing.T) {
	t.Helper()
	e2eutil.Need(t, "ffmpeg and ffprobe", e2eutil.OnPath("ffmpeg", "ffprobe"))
	e2eutil.NeedRTMP(t)
}

// publishTestSource pushes an H.264 + AAC test pattern to url with ffmpeg until the test
// ends.
func publishTestSource(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning",
		"-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30",
		"-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-c:v", "libx264", "-profile:v", "baseline", "-preset", "veryfast", "-tune", "zerolatency",
		"-pix_fmt", "yuv420p", "-g", "30", "-c:a", "aac", "-ar", "48000", "-f", "flv", url)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGINT) }
	cmd.WaitDelay = 3 * time.Second
	out := &e2eutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("--- output of the ffmpeg test source ---\n%s", out.String())
		}
	})
}
