package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// ferret is a FerretDB test server owned by one test, so stopping it disturbs nobody else.
type ferret struct {
	bin, dir string
	port     int
	p        *proc
}

// ferretBinary is scripts/test's FerretDB build ($CONCLAVE_BIN or <root>/bin).
func ferretBinary() string {
	if d := os.Getenv("CONCLAVE_BIN"); d != "" {
		return filepath.Join(d, "ferretserver")
	}
	return filepath.Join(repoRoot(), "bin", "ferretserver")
}

// startFerret starts a FerretDB server on a free port with its own data directory.
func startFerret(t *testing.T) *ferret {
	t.Helper()
	bin := ferretBinary()
	_, err := os.Stat(bin)
	need(t, bin+" (scripts/test builds it)", err == nil)
	f := &ferret{bin: bin, dir: t.TempDir(), port: freePort(t)}
	f.start(t)
	return f
}

// start (re)starts the server on the same port and data.
func (f *ferret) start(t *testing.T) {
	t.Helper()
	f.p = start(t, "ferretserver", f.bin, []string{"-listen", fmt.Sprintf("127.0.0.1:%d", f.port), "-dir", f.dir, "-log", "error"})
	if !waitPort(f.port, 30*time.Second) {
		t.Fatalf("FerretDB did not listen on %d: %s", f.port, f.p.out.String())
	}
}

// uri is the server's MongoDB URI.
func (f *ferret) uri() string { return fmt.Sprintf("mongodb://127.0.0.1:%d/", f.port) }

// rabbitServer is the RabbitMQ server script of Debian's rabbitmq-server package.
const rabbitServer = "/usr/lib/rabbitmq/bin/rabbitmq-server"

// rabbit is a RabbitMQ node of its own (own node name, ports, cookie and state), so that a
// test can take it down without disturbing the broker the other tests share.
type rabbit struct {
	dir, node string
	port      int
	p         *proc
}

// startRabbit starts an isolated node on free loopback ports and waits for its AMQP port.
func startRabbit(t *testing.T) *rabbit {
	t.Helper()
	_, err := os.Stat(rabbitServer)
	need(t, rabbitServer, err == nil)
	dir, err := os.MkdirTemp("", "chaos-rmq")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	r := &rabbit{dir: dir, node: fmt.Sprintf("chaos%d@localhost", os.Getpid()), port: freePort(t)}
	// Own config and env files, so a machine's /etc/rabbitmq (listeners, node name) is not used.
	files := map[string]string{
		"enabled_plugins":   "[].\n",
		"rabbitmq.conf":     fmt.Sprintf("listeners.tcp.local = 127.0.0.1:%d\n", r.port),
		"rabbitmq-env.conf": "",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	begin := time.Now()
	r.p = start(t, "rabbitmq", rabbitServer, nil, r.env(freePort(t))...)
	t.Cleanup(func() { r.ctl(t, 30*time.Second, "stop") })
	if !waitPort(r.port, 60*time.Second) {
		t.Fatalf("RabbitMQ did not listen on %d: %s", r.port, r.p.out.String())
	}
	t.Logf("own RabbitMQ node %s on port %d ready in %s", r.node, r.port, time.Since(begin).Round(time.Millisecond))
	return r
}

// env is the node's environment: everything under dir, loopback only.
func (r *rabbit) env(distPort int) []string {
	return []string{
		"HOME=" + r.dir, "RABBITMQ_NODENAME=" + r.node,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1", "RABBITMQ_NODE_PORT=" + strconv.Itoa(r.port),
		"ERL_EPMD_ADDRESS=127.0.0.1", "RABBITMQ_DIST_PORT=" + strconv.Itoa(distPort),
		"RABBITMQ_MNESIA_BASE=" + filepath.Join(r.dir, "mnesia"), "RABBITMQ_LOG_BASE=" + filepath.Join(r.dir, "log"),
		"RABBITMQ_PID_FILE=" + filepath.Join(r.dir, "rabbit.pid"),
		"RABBITMQ_ENABLED_PLUGINS_FILE=" + filepath.Join(r.dir, "enabled_plugins"),
		"RABBITMQ_CONFIG_FILE=" + filepath.Join(r.dir, "rabbitmq.conf"),
		"RABBITMQ_CONF_ENV_FILE=" + filepath.Join(r.dir, "rabbitmq-env.conf"),
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}",
	}
}

// ctl runs rabbitmqctl against the node (same HOME, so the same Erlang cookie).
func (r *rabbit) ctl(t *testing.T, timeout time.Duration, args ...string) {
	t.Helper()
	if !r.p.alive() {
		return
	}
	cmd := exec.Command(filepath.Join(filepath.Dir(rabbitServer), "rabbitmqctl"), append([]string{"-n", r.node, "-t", strconv.Itoa(int(timeout.Seconds()))}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+r.dir, "ERL_EPMD_ADDRESS=127.0.0.1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("rabbitmqctl %v: %v\n%s", args, err, out)
	}
}

// url is the node's AMQP URL.
func (r *rabbit) url() string { return fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", r.port) }

// rtmpModule is where Debian's libnginx-mod-rtmp installs the nginx-rtmp module.
const rtmpModule = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

// nginxConf is a live RTMP application on a loopback port: %[1]s is the prefix directory,
// %[2]d the port.
const nginxConf = `load_module ` + rtmpModule + `;
daemon off;
master_process on;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 64; }
rtmp {
    server {
        listen 127.0.0.1:%[2]d;
        application live {
            live on;
            allow publish 127.0.0.1;
            deny publish all;
        }
    }
}
`

// startRTMP runs nginx-rtmp until the test ends and returns its port.
func startRTMP(t *testing.T) int {
	t.Helper()
	_, err := os.Stat(rtmpModule)
	need(t, "nginx with "+rtmpModule, err == nil && onPath("nginx"))
	dir, port := t.TempDir(), freePort(t)
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(nginxConf, dir, port)), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, "nginx", "nginx", []string{"-c", conf, "-p", dir})
	if !waitPort(port, 10*time.Second) {
		t.Fatalf("nginx did not listen on %d: %s", port, p.out.String())
	}
	return port
}
