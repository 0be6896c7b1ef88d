package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/testutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/load"
	"github.com/conclave-rtc/conclave/internal/netlab"
)

// Addresses of the TURN lab: the server's and the client's end of one veth pair.
const (
	labServerIP = "10.77.1.1"
	labClientIP = "10.77.1.2"
)

// TestE2ETURNOverTCP puts the all-in-one in one network namespace and `conclave load` in
// another whose every UDP packet is dropped (a UDP-blocking firewall): the publisher and the
// subscriber can only reach the media through TURN over TCP. First with the embedded TURN
// server and the ICE servers the portal hands out at login, then with coturn (Debian's
// turnserver, use-auth-secret) in place of the embedded server, sharing turn.secret. Both
// must connect over a relay, deliver frames and report no error; the join time is logged.
func TestE2ETURNOverTCP(t *testing.T) {
	lab := netlab.New(t)
	srvNS, cliNS := lab.Namespace("server"), lab.Namespace("client")
	srvDev, _ := lab.Link(srvNS, cliNS, labServerIP+"/24", labClientIP+"/24")
	cliNS.DropUDP(t)

	t.Run("embedded", func(t *testing.T) {
		data := startLabServer(t, srvNS, srvDev, "", "")
		rep := runRelayedLoad(t, cliNS, data, "-relay")
		t.Logf("embedded TURN: join p50 %.0f ms, %d video frames, pairs %v", rep.JoinLatency.P50, rep.VideoFrames, rep.CandidatePairs)
	})
	t.Run("coturn", func(t *testing.T) {
		const secret = "lab-coturn-secret"
		port := startCoturn(t, srvNS, secret)
		data := startLabServer(t, srvNS, srvDev, fmt.Sprintf(`turn:
  enabled: false
  secret: %s
  urls: ["turn:%s:%d?transport=tcp", "turn:%s:%d?transport=udp"]
`, secret, labServerIP, port, labServerIP, port), "")
		rep := runRelayedLoad(t, cliNS, data, "-relay")
		t.Logf("coturn: join p50 %.0f ms, %d video frames, pairs %v", rep.JoinLatency.P50, rep.VideoFrames, rep.CandidatePairs)
	})
	// No TURN at all: the clients reach the server's passive ICE-TCP candidate
	// (webrtc.tcpPort) with active TCP candidates of their own.
	t.Run("ice-tcp", func(t *testing.T) {
		data := startLabServer(t, srvNS, srvDev, "turn:\n  enabled: false\n", "  tcpPort: 4443\n")
		rep := runRelayedLoad(t, cliNS, data, "-tcp")
		t.Logf("ICE-TCP: join p50 %.0f ms, %d video frames, pairs %v", rep.JoinLatency.P50, rep.VideoFrames, rep.CandidatePairs)
	})
}

// startLabServer runs the all-in-one in ns with every listener on the lab address and media
// on the lab interface dev, extra added to its config and webrtcExtra to its webrtc section,
// and returns its data directory once it serves.
func startLabServer(t *testing.T, ns *netlab.NS, dev, extra, webrtcExtra string) string {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	cfg := e2eutil.WriteConfig(t, extra+"webrtc:\n  interfaces: ["+dev+"]\n"+webrtcExtra)
	args := ns.Args(bins.Path(t, "conclave"))
	p := e2eutil.Start(t, args[0], args[1:],
		"CONCLAVE_CONFIG="+cfg, "CONCLAVE_DATA_DIR="+data,
		"CONCLAVE_MANAGEMENT_LISTEN="+labServerIP+":3000", "CONCLAVE_PORTAL_LISTEN="+labServerIP+":8080",
		"CONCLAVE_PORTAL_PUBLIC_HOST="+labServerIP+":8080", "CONCLAVE_TURN_LISTEN="+labServerIP+":3478",
		"CONCLAVE_BUS_URL=", "CONCLAVE_MONGO_URI=", "CONCLAVE_CLUSTER_KEY=",
		"CONCLAVE_SUPER_SERVICE_ID=", "CONCLAVE_SUPER_SERVICE_KEY=", "GORACE=atexit_sleep_ms=0")
	p.WaitOutput(t, "the banner", time.Minute, func(out string) bool { return strings.Contains(out, "Conclave is running") })
	return data
}

// runRelayedLoad runs `conclave load` with mode (-relay: TURN only; -tcp: ICE-TCP only) in ns
// (one publisher, one subscriber) against the lab server and checks its report: no error,
// frames received, every PeerConnection connected to the server's host candidate, through a
// relay (-relay) or directly over TCP (-tcp).
func runRelayedLoad(t *testing.T, ns *netlab.NS, data, mode string) *load.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := ns.Command(ctx, bins.Path(t, "conclave"), "load", "-api", "http://"+labServerIP+":3000", "-data", data,
		"-loopback=false", mode, "-rooms", "1", "-publishers", "1", "-subscribers", "1",
		"-duration", "3s", "-warmup", "0s", "-join-timeout", "60s", "-json", "-quiet")
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("conclave load: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var rep load.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}
	if rep.ErrorCount != 0 || rep.Subscriptions != 1 || rep.VideoFrames == 0 {
		t.Fatalf("errors %v (%v), %d subscriptions, %d video frames", rep.Errors, rep.ErrorSamples, rep.Subscriptions, rep.VideoFrames)
	}
	want := map[string]int{"relay/host": 2} // publication and subscription
	if mode == "-tcp" {
		want = map[string]int{"host/host": 2}
	}
	if !maps.Equal(rep.CandidatePairs, want) {
		t.Fatalf("candidate pairs %v, want %v (publication and subscription, %s)", rep.CandidatePairs, want, mode)
	}
	return &rep
}

// startCoturn runs Debian's coturn in ns on the lab address with TURN REST API credentials
// (use-auth-secret) and returns its port.
func startCoturn(t *testing.T, ns *netlab.NS, secret string) int {
	t.Helper()
	const port = 3479
	conf := testutil.CoturnConfig(t, t.TempDir(), labServerIP, port, secret)
	args := ns.Args("turnserver", "-c", conf)
	p := e2eutil.Start(t, args[0], args[1:])
	probe := fmt.Sprintf("exec 3<>/dev/tcp/%s/%d", labServerIP, port)
	e2eutil.WaitUntil(t, "coturn listening", 30*time.Second, func() bool {
		return ns.Command(context.Background(), "bash", "-c", probe).Run() == nil
	}, p)
	return port
}
