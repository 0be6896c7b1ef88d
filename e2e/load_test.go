package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/load"
)

// TestE2ELoadTool runs `conclave load` briefly against the all-in-one binary, as a separate
// process, with browser-like publishers (resolution ramp, padding probes, 1 % of video
// packets lost for good) and an mkv recording, and checks its JSON report: no errors and
// media received. It asserts no timings.
func TestE2ELoadTool(t *testing.T) {
	srv := startRealtimeAllInOne(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.Path(t, "conclave"), "load",
		"-api", srv.api.Base, "-service", srv.api.ServiceID, "-key", srv.api.Key,
		"-rooms", "1", "-publishers", "1", "-subscribers", "2", "-duration", "5s", "-warmup", "1s",
		"-browser", "-loss", "0.01", "-recordings", "1",
		"-server-pid", strconv.Itoa(srv.proc.PID()), "-json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("conclave load: %v\nstderr:\n%s", err, stderr.String())
	}
	var rep load.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}
	t.Logf("report:\n%s\nprogress:\n%s", stdout.String(), stderr.String())
	if rep.ErrorCount != 0 {
		t.Fatalf("errors %v: %v", rep.Errors, rep.ErrorSamples)
	}
	if rep.PublishersJoined != 1 || rep.SubscribersJoined != 2 || rep.Subscriptions != 2 || rep.JoinLatency.N != 2 {
		t.Fatalf("joined %d publishers, %d subscribers, %d subscriptions, %d latencies",
			rep.PublishersJoined, rep.SubscribersJoined, rep.Subscriptions, rep.JoinLatency.N)
	}
	if rep.Packets == 0 || rep.Window.Packets == 0 || rep.VideoFrames == 0 {
		t.Fatalf("no media: packets %d, in the window %d, video frames %d", rep.Packets, rep.Window.Packets, rep.VideoFrames)
	}
	if rep.Server.RSSSteadyKiB == 0 || rep.Server.LiveSubscriptions != 2 {
		t.Fatalf("server stats %+v", rep.Server)
	}
}

// TestE2ELoadToolFailsOnErrors checks that `conclave load` tells a script its run went wrong:
// against an all-in-one whose tokens name a portal address nobody listens on, every join
// fails, the report lists the errors and the exit status is 3 (it used to be 0).
func TestE2ELoadToolFailsOnErrors(t *testing.T) {
	srv := startRealtimeAllInOne(t, "CONCLAVE_PORTAL_PUBLIC_HOST=127.0.0.1:"+strconv.Itoa(e2eutil.FreePort(t)))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.Path(t, "conclave"), "load",
		"-api", srv.api.Base, "-service", srv.api.ServiceID, "-key", srv.api.Key,
		"-rooms", "1", "-publishers", "1", "-subscribers", "1", "-duration", "1s", "-warmup", "0s", "-json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("conclave load: %v, want exit status 3\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var rep load.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}
	if rep.ErrorCount == 0 || rep.PublishersJoined != 0 {
		t.Fatalf("report: %d errors, %d publishers joined", rep.ErrorCount, rep.PublishersJoined)
	}
	t.Logf("errors %v; stderr tail:\n%s", rep.Errors, e2eutil.Tail(stderr.String(), 3))
}
