package e2eutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/conclave-rtc/conclave/common/testutil"
)

// LoopbackWebRTCConfig is the config that keeps every ICE candidate of a server process on
// 127.0.0.1 (media links already default to loopback there: the bus is on 127.0.0.1), puts
// the all-in-one's TURN server on an ephemeral loopback port (so parallel servers do not
// collide on 3478), and lets streaming-ins and -outs reach the test's own servers
// there (the egress policy refuses loopback by default). It ends inside the webrtc section,
// so callers may append more webrtc keys.
const LoopbackWebRTCConfig = `streaming:
  allowTargets: ["127.0.0.1/32"]
turn:
  listen: "127.0.0.1:0"
webrtc:
  interfaces: [lo]
  includeLoopback: true
`

// WriteConfig writes a YAML config file for one process and returns its path (pass it as
// CONCLAVE_CONFIG).
func WriteConfig(t testing.TB, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "conclave.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Unavailable skips the test because something it needs is missing, or fails it when
// CONCLAVE_REQUIRE_INTEGRATION is set.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(testutil.EnvRequire) != "" {
		t.Fatalf("%s (%s is set)", msg, testutil.EnvRequire)
	}
	t.Skip(msg)
}

// Need calls Unavailable naming what when ok is false.
func Need(t testing.TB, what string, ok bool) {
	t.Helper()
	if !ok {
		Unavailable(t, "%s is missing", what)
	}
}

// OnPath reports whether every tool is found on PATH (or at its absolute path).
func OnPath(tools ...string) bool {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return false
		}
	}
	return true
}

// EnvInt reads a positive integer setting from the environment, def when it is not set.
func EnvInt(t testing.TB, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}
