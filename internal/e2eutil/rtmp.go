package e2eutil

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// RTMPModule is where Debian's libnginx-mod-rtmp installs the nginx-rtmp module.
const RTMPModule = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

// NeedRTMP skips the test (fails it under CONCLAVE_REQUIRE_INTEGRATION) when nginx or its
// RTMP module is missing.
func NeedRTMP(t testing.TB) {
	t.Helper()
	_, err := os.Stat(RTMPModule)
	Need(t, "nginx with "+RTMPModule, err == nil && OnPath("nginx"))
}

// RTMPServer is an nginx-rtmp server on a loopback port that records every stream published
// to its "live" application as <Dir>/rec/<name>.flv.
type RTMPServer struct {
	Dir  string
	Port int
	Proc *Proc
}

// nginxConf is the standalone configuration: %[1]s is the prefix directory, %[2]d the port.
const nginxConf = `load_module ` + RTMPModule + `;
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

// StartRTMP runs nginx with the RTMP module until the test ends (on SIGTERM nginx shuts down
// at once, without waiting for publishers) and waits until it listens.
func StartRTMP(t testing.TB) *RTMPServer {
	t.Helper()
	NeedRTMP(t)
	n := &RTMPServer{Dir: t.TempDir(), Port: FreePort(t)}
	for _, d := range []string{"rec", "logs"} {
		if err := os.MkdirAll(filepath.Join(n.Dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// nginx's workers run as nobody: they must reach and write the record directory.
	for _, d := range []string{filepath.Dir(n.Dir), n.Dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(n.Dir, "rec"), 0o777); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(n.Dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxConf, n.Dir, n.Port)), 0o644); err != nil {
		t.Fatal(err)
	}
	n.Proc = Start(t, "nginx", []string{"-c", conf, "-p", n.Dir})
	if !WaitPort(n.Port, 10*time.Second) {
		t.Fatalf("nginx not listening on %d (alive: %v): %s", n.Port, n.Proc.Alive(), n.Proc.Output())
	}
	return n
}

// URL is the RTMP URL of stream name.
func (n *RTMPServer) URL(name string) string {
	return fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", n.Port, name)
}

// Recorded is the flv file nginx records for stream name.
func (n *RTMPServer) Recorded(name string) string {
	return filepath.Join(n.Dir, "rec", name+".flv")
}
