package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/internal/e2eutil"
)

// ferret is a FerretDB test server owned by one test, so stopping it disturbs nobody else.
type ferret struct {
	bin, dir string
	port     int
	p        *e2eutil.Proc
}

// ferretBinary is scripts/test's FerretDB build ($CONCLAVE_BIN or <root>/bin).
func ferretBinary() string {
	if d := os.Getenv("CONCLAVE_BIN"); d != "" {
		return filepath.Join(d, "ferretserver")
	}
	return filepath.Join(e2eutil.RepoRoot(), "bin", "ferretserver")
}

// startFerret starts a FerretDB server on a free port with its own data directory.
func startFerret(t *testing.T) *ferret {
	t.Helper()
	bin := ferretBinary()
	_, err := os.Stat(bin)
	e2eutil.Need(t, bin+" (scripts/test builds it)", err == nil)
	f := &ferret{bin: bin, dir: t.TempDir(), port: e2eutil.FreePort(t)}
	f.start(t)
	return f
}

// start (re)starts the server on the same port and data.
func (f *ferret) start(t *testing.T) {
	t.Helper()
	f.p = e2eutil.Start(t, f.bin, []string{"-listen", fmt.Sprintf("127.0.0.1:%d", f.port), "-dir", f.dir, "-log", "error"})
	if !e2eutil.WaitPort(f.port, 30*time.Second) {
		t.Fatalf("FerretDB did not listen on %d: %s", f.port, f.p.Output())
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
	p         *e2eutil.Proc
}

// startRabbit starts an isolated node on free loopback ports and waits for its AMQP port.
func startRabbit(t *testing.T) *rabbit {
	t.Helper()
	_, err := os.Stat(rabbitServer)
	e2eutil.Need(t, rabbitServer, err == nil)
	dir, err := os.MkdirTemp("", "chaos-rmq")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	r := &rabbit{dir: dir, node: fmt.Sprintf("chaos%d@localhost", os.Getpid()), port: e2eutil.FreePort(t)}
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
	r.p = e2eutil.Start(t, rabbitServer, nil, r.env(e2eutil.FreePort(t))...)
	t.Cleanup(func() { r.ctl(t, 30*time.Second, "stop") })
	if !e2eutil.WaitPort(r.port, 60*time.Second) {
		t.Fatalf("RabbitMQ did not listen on %d: %s", r.port, r.p.Output())
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
	if !r.p.Alive() {
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
