package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rtmpModule is where Debian's libnginx-mod-rtmp installs the nginx-rtmp module.
const rtmpModule = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

// needMediaTools skips the test when ffmpeg, ffprobe, nginx or its RTMP module are missing,
// unless CONCLAVE_REQUIRE_INTEGRATION is set: then it fails.
func needMediaTools(t *testing.T) {
	t.Helper()
	var missing []string
	for _, tool := range []string{"ffmpeg", "ffprobe", "nginx"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if _, err := os.Stat(rtmpModule); err != nil {
		missing = append(missing, rtmpModule)
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CONCLAVE_REQUIRE_INTEGRATION") != "" {
		t.Fatalf("missing %v (CONCLAVE_REQUIRE_INTEGRATION is set)", missing)
	}
	t.Skipf("missing %v", missing)
}

// rtmpServer is an nginx-rtmp server on a loopback port that records every published
// stream to <dir>/rec/<name>.flv.
type rtmpServer struct {
	t    *testing.T
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// nginxConf is the standalone configuration: %[1]s is the prefix directory, %[2]d the port.
const nginxConf = `load_module ` + rtmpModule + `;
daemon off;
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log info;
events { worker_connections 64; }
rtmp {
    server {
        listen 127.0.0.1:%[2]d;
        chunk_size 4096;
        application live {
            live on;
            allow publish 127.0.0.1;
            deny publish all;
            allow play 127.0.0.1;
            deny play all;
            record all;
            record_path %[1]s/rec;
            record_unique off;
        }
    }
}
`

// startRTMPServer runs nginx with the RTMP module until the test ends.
func startRTMPServer(t *testing.T) *rtmpServer {
	t.Helper()
	n := &rtmpServer{t: t, dir: t.TempDir(), port: freePort(t)}
	for _, d := range []string{"rec", "logs"} {
		if err := os.MkdirAll(filepath.Join(n.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// nginx's workers run as nobody: they must reach and write the record directory.
	for _, d := range []string{filepath.Dir(n.dir), n.dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(n.dir, "rec"), 0o777); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(n.dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxConf, n.dir, n.port)), 0o644); err != nil {
		t.Fatal(err)
	}
	n.cmd = exec.Command("nginx", "-c", conf, "-p", n.dir)
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out := &syncBuffer{}
	n.cmd.Stdout, n.cmd.Stderr = out, out
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.done = make(chan struct{})
	go func() { _ = n.cmd.Wait(); close(n.done) }()
	t.Cleanup(n.stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(n.port)))
		if err == nil {
			_ = c.Close()
			return n
		}
		select {
		case <-n.done:
			t.Fatalf("nginx exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx not listening on %d: %s", n.port, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends nginx with a fast shutdown (a graceful quit waits for publishers), then kills.
func (n *rtmpServer) stop() {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(5 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
	}
}

// url is the RTMP URL of stream name.
func (n *rtmpServer) url(name string) string {
	return fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", n.port, name)
}

// recorded is the flv nginx records for stream name.
func (n *rtmpServer) recorded(name string) string {
	return filepath.Join(n.dir, "rec", name+".flv")
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
	out := &syncBuffer{}
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

// probe describes a media file as ffprobe reads it.
type probe struct {
	codecs   map[string]string // codec_type → codec_name
	duration time.Duration
}

// probeFile runs ffprobe on path.
func probeFile(t *testing.T, path string) probe {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries",
		"stream=codec_type,codec_name:format=duration", "-of", "default=noprint_wrappers=1", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	p := probe{codecs: map[string]string{}}
	var name string
	for line := range strings.Lines(string(out)) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "codec_name":
			name = v
		case "codec_type":
			p.codecs[v] = name
		case "duration":
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				p.duration = time.Duration(f * float64(time.Second))
			}
		}
	}
	return p
}
