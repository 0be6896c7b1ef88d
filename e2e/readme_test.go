package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/testutil"
	"github.com/conclave-rtc/conclave/common/version"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/load"
)

// TestE2EREADMEShellExample runs the README's management-API shell block, exactly as written,
// with bash, curl and openssl next to the data directory of a fresh all-in-one: it must create
// a room, list it and print a join token for it.
func TestE2EREADMEShellExample(t *testing.T) {
	block := readmeBlock(t, "super-service.json")
	dir := t.TempDir()
	mport, pport := e2eutil.FreePort(t), e2eutil.FreePort(t)
	portalHost := fmt.Sprintf("127.0.0.1:%d", pport)
	p := e2eutil.Start(t, bins.Path(t, "conclave"), nil,
		"CONCLAVE_DATA_DIR="+filepath.Join(dir, "data"),
		fmt.Sprintf("CONCLAVE_MANAGEMENT_LISTEN=127.0.0.1:%d", mport),
		"CONCLAVE_PORTAL_LISTEN="+portalHost, "CONCLAVE_PORTAL_PUBLIC_HOST="+portalHost,
		"CONCLAVE_BUS_URL=", "CONCLAVE_MONGO_URI=", "CONCLAVE_SUPER_SERVICE_ID=", "CONCLAVE_SUPER_SERVICE_KEY=",
		"CONCLAVE_TURN_LISTEN=127.0.0.1:0")
	api := fmt.Sprintf("http://127.0.0.1:%d", mport)
	e2eutil.WaitHTTP(t, api+"/healthz", 30*time.Second, p)

	cmd := exec.Command("bash", "-c", block)
	cmd.Dir = dir // the block reads data/super-service.json
	cmd.Env = append(os.Environ(), "API="+api, "CONCLAVE_DATA_DIR=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README block: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines (room id, room list, token), got:\n%s", out)
	}
	room, ok := strings.CutPrefix(lines[0], "room ")
	if !ok || !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(room) {
		t.Fatalf("no room id captured: %q", lines[0])
	}
	if !strings.HasPrefix(lines[1], "[") || !strings.Contains(lines[1], `"_id":"`+room+`"`) {
		t.Fatalf("room list without the new room: %s", lines[1])
	}
	checkToken(t, lines[2], portalHost)
}

// readmeBlock returns the README's ```sh block that contains marker.
func readmeBlock(t *testing.T, marker string) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range strings.Split(string(b), "```sh\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		if strings.Contains(block, marker) {
			return block
		}
	}
	t.Fatalf("README has no sh block mentioning %s", marker)
	return ""
}

// TestE2EREADMEDistributed runs the README's distributed-deployment block as written (BIN
// names the test's binaries; RabbitMQ, MongoDB and the listen addresses come from the
// environment the block leaves alone), then, as the README says, its management-API example
// unchanged and `conclave load -data data` with a recording against the seven processes, and
// the stop command. Everything runs with no YAML file: webrtc candidates, media links and
// the recording directory must work from the environment alone.
func TestE2EREADMEDistributed(t *testing.T) {
	block := readmeBlock(t, "for b in management-api")
	amqpURL, mongoURI := testutil.AMQPURL(t), testutil.MongoURI(t)
	cluster := e2eutil.NewCluster(amqpURL, mongoURI, "readme")
	dir := t.TempDir()
	mport, pport := e2eutil.FreePort(t), e2eutil.FreePort(t)
	api, portalHost := fmt.Sprintf("http://127.0.0.1:%d", mport), fmt.Sprintf("127.0.0.1:%d", pport)
	env := append(os.Environ(), "BIN="+filepath.Dir(bins.Path(t, "portal")),
		"CONCLAVE_BUS_URL="+amqpURL, "CONCLAVE_BUS_PREFIX="+cluster.Prefix,
		"CONCLAVE_MONGO_URI="+mongoURI, "CONCLAVE_MONGO_DATABASE="+cluster.Database,
		fmt.Sprintf("CONCLAVE_MANAGEMENT_LISTEN=127.0.0.1:%d", mport),
		"CONCLAVE_PORTAL_LISTEN="+portalHost, "CONCLAVE_PORTAL_PUBLIC_HOST="+portalHost,
		"CONCLAVE_CONFIG=", "CONCLAVE_CLUSTER_KEY=", "CONCLAVE_SUPER_SERVICE_ID=", "CONCLAVE_SUPER_SERVICE_KEY=")
	start := time.Now()
	runBlock(t, dir, env, block)
	t.Cleanup(func() { killPids(t, filepath.Join(dir, "data", "pids")) })
	e2eutil.WaitUntil(t, "the management API", 60*time.Second, func() bool { return e2eutil.HTTPOK(api + "/readyz") })
	e2eutil.WaitUntil(t, "the portal", 60*time.Second, func() bool { return e2eutil.HTTPOK("http://" + portalHost + "/healthz") })
	t.Logf("seven processes up %v after the block started", time.Since(start).Round(time.Millisecond))
	checkHealthVersion(t, api+"/healthz")

	out := runBlock(t, dir, append(env, "API="+api, "CONCLAVE_DATA_DIR="), readmeBlock(t, "super-service.json"))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "room ") {
		t.Fatalf("management-API example against the cluster:\n%s", out)
	}
	checkToken(t, lines[2], portalHost)

	rep := runLoad(t, api, filepath.Join(dir, "data"))
	t.Logf("load: %d publishers, %d subscriptions, %d packets, join p50 %v ms, errors %v",
		rep.PublishersJoined, rep.Subscriptions, rep.Packets, rep.JoinLatency.P50, rep.Errors)
	if rep.Subscriptions != 1 || rep.Packets == 0 || rep.RecordingsStarted != 1 {
		t.Fatalf("load report: %d subscriptions, %d packets, %d recordings", rep.Subscriptions, rep.Packets, rep.RecordingsStarted)
	}
	// The README's stop command: every process drains and exits, the recording is kept.
	pids := readPids(t, filepath.Join(dir, "data", "pids"))
	runBlock(t, dir, env, "kill $(cat data/pids) && rm data/pids")
	e2eutil.WaitUntil(t, "every process to exit", 30*time.Second, func() bool { return !slices.ContainsFunc(pids, running) })
	recs, _ := filepath.Glob(filepath.Join(dir, "data", "recordings", "*.mkv"))
	if len(recs) != 1 {
		t.Fatalf("recordings in data/recordings: %v", recs)
	}
}

// runBlock runs a shell block with bash in dir and returns its output; a failure fails the test.
func runBlock(t *testing.T, dir string, env []string, block string) string {
	t.Helper()
	cmd := exec.Command("bash", "-c", block)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdin = nil
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out // background processes write to their own log files
	if err := cmd.Run(); err != nil {
		t.Fatalf("block %q: %v\n%s", e2eutil.Tail(block, 2), err, out.String())
	}
	return out.String()
}

// checkHealthVersion checks that /healthz names the build.
func checkHealthVersion(t *testing.T, url string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h version.Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || h.Status != "ok" || h.Version == "" || h.Go == "" {
		t.Fatalf("healthz: %+v, %v", h, err)
	}
	t.Logf("healthz: %+v", h)
}

// runLoad runs `conclave load -data DIR` briefly (one publisher, one subscriber, one
// recording) and returns its report; a non-zero exit fails the test.
func runLoad(t *testing.T, api, data string) load.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.Path(t, "conclave"), "load", "-api", api, "-data", data,
		"-rooms", "1", "-publishers", "1", "-subscribers", "1", "-duration", "2s", "-warmup", "1s", "-recordings", "1", "-json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("conclave load: %v\n%s\nstderr:\n%s", err, stdout.String(), e2eutil.Tail(stderr.String(), 20))
	}
	var rep load.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}
	return rep
}

// readPids reads a file of process ids, one per line.
func readPids(t *testing.T, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// killPids kills what is left of the processes listed in path (a failed test's cleanup).
func killPids(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return // stopped by the test
	}
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && running(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Logf("killed pid %d left running", pid)
		}
	}
}

// running reports whether pid is a live process (not a zombie).
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}
