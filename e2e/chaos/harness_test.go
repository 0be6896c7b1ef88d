// Package chaos kills and restarts the processes and servers of a distributed Conclave
// deployment and checks the failure contract of docs/architecture.md §9: every process is a real
// binary, every server (RabbitMQ, FerretDB, nginx-rtmp) a real one on loopback, and each test
// logs a "fault → recovery" table (lines starting with RECOVERY).
//
// How the faults are made, each isolated from the tests running in parallel:
//   - process deaths: SIGKILL to one binary of a deployment that has its own bus prefix on
//     the shared broker and its own database on the shared FerretDB (TestChaosProcessKills);
//   - broker restart: a RabbitMQ node of the test's own (own node name, ports, cookie, config
//     and state directory), taken down with `rabbitmqctl stop_app` for 5 s (longer than the
//     registries' 3-beat expiry) and brought back with `start_app` (TestChaosBrokerRestart);
//   - database outage: a FerretDB server of the test's own, stopped during a REST load and
//     restarted on the same port and data (TestChaosDatabaseOutage).
//
// Deadlines are the contract's bounds made generous (15 s for what must happen within 5 s);
// the measured times are logged, not asserted.
package chaos

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/internal/e2eutil"
)

// bins are the per-role binaries of a distributed deployment, built once per test binary
// without the race detector: these tests look
// at fault recovery across processes, and race-instrumented agents would make the whole
// package several times slower on the 2-core machines (the agents' own packages run their
// tests under -race).
var bins = &e2eutil.Binaries{Prefix: "conclave-chaos-bin", Commands: []string{
	"./management-api/cmd/management-api", "./portal/cmd/portal", "./conference-agent/cmd/conference-agent",
	"./webrtc-agent/cmd/webrtc-agent", "./recording-agent/cmd/recording-agent", "./streaming-agent/cmd/streaming-agent",
	"./mixing-agent/cmd/mixing-agent",
}}

// restTimeout bounds a management API request: an answer must come within 15 s even
// during a fault.
const restTimeout = 15 * time.Second

// hasLine reports whether a line of out contains every part.
func hasLine(out string, parts ...string) bool {
	for line := range strings.Lines(out) {
		all := true
		for _, p := range parts {
			if !strings.Contains(line, p) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// recovery collects the measured recovery times of a test and logs them as a table.
type recovery struct {
	mu   sync.Mutex
	rows []string
}

// add records that fault took d to recover from (what names the observed recovery).
func (r *recovery) add(t *testing.T, fault, what string, d time.Duration) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	row := fmt.Sprintf("%-40s %-55s %8s", fault, what, d.Round(time.Millisecond))
	r.rows = append(r.rows, row)
	t.Logf("RECOVERY %s", row)
}

// log prints every row.
func (r *recovery) log(t *testing.T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Logf("fault → recovery times:\n%s", strings.Join(r.rows, "\n"))
}
