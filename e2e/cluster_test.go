package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/internal/e2eutil"
)

// TestE2EClusterScript runs `scripts/cluster start`, signs a request with the credentials it
// kept (the README's management-API example), checks `status` and /healthz, then `stop`:
// every part, the MongoDB-wire server and the RabbitMQ node must be gone and their ports free.
func TestE2EClusterScript(t *testing.T) {
	e2eutil.Need(t, "rabbitmq-server and openssl", e2eutil.OnPath("openssl", "/usr/lib/rabbitmq/bin/rabbitmq-server"))
	if _, err := os.Stat(filepath.Join(e2eutil.RepoRoot(), "bin", "ferretserver")); err != nil {
		e2eutil.Unavailable(t, "the FerretDB test server is not built (scripts/test builds it): %v", err)
	}
	dir := t.TempDir()
	mport, pport := e2eutil.FreePort(t), e2eutil.FreePort(t)
	amqpPort, mongoPort := rabbitPort(t), e2eutil.FreePort(t)
	api := fmt.Sprintf("http://127.0.0.1:%d", mport)
	env := append(os.Environ(), "CONCLAVE_CLUSTER_DIR="+dir, "CONCLAVE_CLUSTER_BIN="+filepath.Dir(bins.Path(t, "portal")),
		fmt.Sprintf("CONCLAVE_CLUSTER_AMQP_PORT=%d", amqpPort), fmt.Sprintf("CONCLAVE_CLUSTER_MONGO_PORT=%d", mongoPort),
		fmt.Sprintf("CONCLAVE_MANAGEMENT_LISTEN=127.0.0.1:%d", mport), fmt.Sprintf("CONCLAVE_PORTAL_LISTEN=127.0.0.1:%d", pport),
		"CONCLAVE_PORTAL_PUBLIC_HOST=", "CONCLAVE_CONFIG=")
	script := filepath.Join(e2eutil.RepoRoot(), "scripts", "cluster")
	run := func(arg string) string {
		cmd := exec.Command(script, arg)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("scripts/cluster %s: %v\n%s", arg, err, out)
		}
		return string(out)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cmd := exec.Command(script, "stop")
			cmd.Env = env
			_ = cmd.Run()
		}
	})
	start := time.Now()
	out := run("start")
	t.Logf("start took %v:\n%s", time.Since(start).Round(time.Millisecond), out)
	e2eutil.WaitUntil(t, "the management API", 30*time.Second, func() bool { return e2eutil.HTTPOK(api + "/readyz") })
	if out := run("status"); strings.Count(out, " running (pid ") != 7 {
		t.Fatalf("status:\n%s", out)
	}
	checkHealthVersion(t, api+"/healthz")
	out = runBlock(t, t.TempDir(), append(env, "API="+api, "CONCLAVE_DATA_DIR="+dir), readmeBlock(t, "super-service.json"))
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 {
		t.Fatalf("management-API example against the cluster:\n%s", out)
	} else {
		checkToken(t, lines[2], fmt.Sprintf("127.0.0.1:%d", pport))
	}
	stopAt := time.Now()
	run("stop")
	stopped = true
	t.Logf("stop took %v", time.Since(stopAt).Round(time.Millisecond))
	cmd := exec.Command(script, "status")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err == nil || strings.Contains(string(out), "running") {
		t.Fatalf("status after stop: %v\n%s", err, out)
	}
	for _, port := range []int{mport, pport, amqpPort, mongoPort} {
		if accepts(port) {
			t.Errorf("port %d still accepts connections after stop", port)
		}
	}
}

// rabbitPort returns a free port for a RabbitMQ node whose distribution port (port+20000,
// scripts/lib.sh) is free too.
func rabbitPort(t *testing.T) int {
	t.Helper()
	for range 100 {
		port := 10000 + rand.IntN(20000)
		a, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		b, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+20000))
		_ = a.Close()
		if err == nil {
			_ = b.Close()
			return port
		}
	}
	t.Fatal("no free port pair for RabbitMQ")
	return 0
}

// accepts reports whether something accepts TCP on 127.0.0.1:port now.
func accepts(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err == nil {
		_ = c.Close()
	}
	return err == nil
}
