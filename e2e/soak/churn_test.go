package soak

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/load"
)

// churnCycles is the number of load cycles of TestSoakChurn after its warm-up cycle; a leak
// of one goroutine, descriptor or socket per cycle makes each series strictly increasing.
const churnCycles = 5

// TestSoakChurn is the short soak of the test command (scripts/soak is the long one): the
// all-in-one at its default log level goes through a warm-up cycle and churnCycles more of
// `conclave load` (a room with a publisher and two subscribers, joined, watched and left,
// the room deleted; every third cycle the audience watches the room's mixed view, every
// third records the publication to mkv), and in the first cycle a participant publishes in a
// room nobody will delete and vanishes without leaving.
//
// After each cycle it waits for the server to go quiet (two equal readings in a row) and
// reads its goroutines, file descriptors and sockets; it fails if any of them grew at every
// cycle (a leak per cycle), if the abandoned room is not ended by its lifetime rules
// (reconnection grace, then conference.cleanGrace), if a codec context stays open, or if the
// server logged any WARN or ERROR line.
func TestSoakChurn(t *testing.T) {
	srv := startAllInOne(t, "conference:\n  cleanGrace: 2s\n")
	super := srv.super
	// The agents of the process announce themselves as they start: a room joined before the
	// mixing agent's announcement arrived starts its view later, with a warning.
	srv.proc.WaitOutput(t, "mixing agent announced", time.Minute, func(out string) bool {
		return strings.Contains(out, `msg="worker joined" worker=mixing-`)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	abandoned := super.CreateRoom(t, "abandoned")
	var series []processStats
	for n := 0; n <= churnCycles; n++ {
		cfg := load.DefaultConfig()
		cfg.API, cfg.ServiceID, cfg.Key = super.Base, super.ServiceID, super.Key
		cfg.Rooms, cfg.Publishers, cfg.Subscribers = 1, 1, 2
		cfg.Duration, cfg.Warmup, cfg.JoinRate, cfg.Loopback, cfg.Quiet = 2*time.Second, 500*time.Millisecond, 0, true, true
		kind := "plain"
		switch n % 3 {
		case 1:
			kind, cfg.Mixed = "mixed view", true
		case 2:
			kind, cfg.Recordings = "mkv recording", 1
		}
		if n == 0 {
			vanish(ctx, t, super, abandoned)
		}
		rep, err := load.Run(ctx, cfg, io.Discard)
		if err != nil {
			t.Fatalf("cycle %d (%s): %v", n, kind, err)
		}
		if rep.ErrorCount != 0 || rep.SubscribersJoined != cfg.Subscribers || rep.RecordingsStarted != cfg.Recordings {
			t.Fatalf("cycle %d (%s): %d/%d subscribers, %d/%d recordings, errors %v %v", n, kind, rep.SubscribersJoined,
				cfg.Subscribers, rep.RecordingsStarted, cfg.Recordings, rep.Errors, rep.ErrorSamples)
		}
		st := srv.quiet(t)
		t.Logf("cycle %d (%s): %s", n, kind, st)
		if n > 0 { // cycle 0 warms up: pools, caches and the first mixing agent session
			series = append(series, st)
		}
	}

	// The abandoned room ends once its participant is dropped and the room stayed idle.
	e2eutil.WaitUntil(t, "abandoned room ended", 3*time.Minute, func() bool { return srv.metric(t, "conclave_conference_live_rooms") == 0 }, srv.proc)
	end := srv.quiet(t)
	t.Logf("after the abandoned room ended: %s", end)
	for _, r := range []struct {
		what string
		v    func(processStats) int
	}{
		{"goroutines", func(s processStats) int { return s.Goroutines }},
		{"file descriptors", func(s processStats) int { return s.FDs }},
		{"sockets", func(s processStats) int { return s.Sockets }},
	} {
		if growsEveryCycle(series, r.v) {
			t.Errorf("%s grew at every cycle: %v", r.what, seriesOf(series, r.v))
		}
	}
	if n := srv.metric(t, "conclave_codec_contexts"); n != 0 {
		t.Errorf("%d codec contexts open after the churn", n)
	}
	if lines := warnLines(srv.proc.Output()); len(lines) > 0 {
		t.Errorf("%d WARN/ERROR lines in a clean churn at the default log level:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

// vanish joins room, publishes and disappears without leaving (the signaling connection and
// the peer connections close, as when a browser tab is killed).
func vanish(ctx context.Context, t *testing.T, super e2eutil.RESTClient, room string) {
	t.Helper()
	cl, _ := publish(ctx, t, super, room, "vanishing")
	if err := cl.Close(); err != nil {
		t.Fatal(err)
	}
}

// growsEveryCycle reports whether the series rose at each step (a per-cycle leak); noise and
// one-off growth (a pool that grew once) do not.
func growsEveryCycle(series []processStats, v func(processStats) int) bool {
	if len(series) < 2 {
		return false
	}
	for i := 1; i < len(series); i++ {
		if v(series[i]) <= v(series[i-1]) {
			return false
		}
	}
	return true
}

func seriesOf(series []processStats, v func(processStats) int) []int {
	out := make([]int, len(series))
	for i, s := range series {
		out[i] = v(s)
	}
	return out
}

// processStats are the server's countable resources.
type processStats struct {
	Goroutines, FDs, Sockets, Threads int
	RSSKiB                            int
}

func (s processStats) String() string {
	return fmt.Sprintf("goroutines %d, fds %d, sockets %d, threads %d, RSS %d KiB", s.Goroutines, s.FDs, s.Sockets, s.Threads, s.RSSKiB)
}

// quiet waits until two readings a quarter second apart agree on goroutines, descriptors
// and sockets (connections and their goroutines wind down after a cycle), and returns that
// reading.
func (s server) quiet(t *testing.T) processStats {
	t.Helper()
	prev := s.process(t)
	var cur processStats
	e2eutil.WaitUntil(t, "server quiet", 2*time.Minute, func() bool {
		time.Sleep(250 * time.Millisecond)
		cur = s.process(t)
		same := cur.Goroutines == prev.Goroutines && cur.FDs == prev.FDs && cur.Sockets == prev.Sockets
		prev = cur
		return same
	}, s.proc)
	return cur
}

// process reads the server's goroutines (/metrics) and its descriptors, sockets, threads and
// RSS (/proc).
func (s server) process(t *testing.T) processStats {
	t.Helper()
	pid := strconv.Itoa(s.proc.PID())
	st := processStats{Goroutines: s.metric(t, "go_goroutines")}
	fds, err := os.ReadDir("/proc/" + pid + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		st.FDs++
		if l, err := os.Readlink("/proc/" + pid + "/fd/" + fd.Name()); err == nil && strings.HasPrefix(l, "socket:") {
			st.Sockets++
		}
	}
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		switch {
		case len(f) == 0:
		case k == "Threads":
			st.Threads, _ = strconv.Atoi(f[0])
		case k == "VmRSS":
			st.RSSKiB, _ = strconv.Atoi(f[0])
		}
	}
	return st
}

// metric returns the sum of the samples of a gauge on the management API's /metrics.
func (s server) metric(t *testing.T, name string) int {
	t.Helper()
	resp, err := http.Get(s.super.Base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	var sum float64
	found := false
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		metric, value, ok := strings.Cut(line, " ")
		if !ok || (metric != name && !strings.HasPrefix(metric, name+"{")) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		sum += v
		found = true
	}
	if !found {
		t.Fatalf("no %s in /metrics", name)
	}
	return int(sum)
}

// warnLines are the log lines at level WARN or ERROR (text or JSON format).
func warnLines(log string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") ||
			strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) {
			out = append(out, line)
		}
	}
	return out
}
