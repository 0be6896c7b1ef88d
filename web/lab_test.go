package web

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/netlab"
)

// The congestion-control lab: Chromium publishes its fake camera as VP8 simulcast (three
// layers) from one network namespace to the all-in-one in another; subscribers in their own
// namespaces, each behind its own veth pair, receive the video without asking for a layer.
// Phase 1 caps what the server sends to the "capped" subscribers at 300 kbit/s, phase 2
// raises the cap to 5000 kbit/s; the "free" subscriber's link is never shaped. What each
// subscriber received is recorded (client/media.Timeline for the Go subscribers, getStats for
// Chromium) and checked against what congestion control toward subscribers must achieve: a
// capped subscriber keeps a watchable picture on a smaller layer within its cap and climbs
// back to the top layer once the cap is raised; the free one never leaves the top layer.
//
// Topology (server .1, client .2 of each /24):
//
//	pub      10.77.4.0/24  Chromium publisher (link never shaped; the portal listens on 10.77.4.1)
//	capped   10.77.5.0/24  Go subscriber, server→capped shaped
//	free     10.77.6.0/24  Go subscriber, never shaped
//	cbrowser 10.77.7.0/24  Chromium subscriber, shaped like capped
//
// The Chromium subscriber has a link of its own rather than sharing capped's: two receivers
// behind one 300 kbit/s bottleneck is another scenario (their estimates compete for it); this
// way each kind of subscriber meets the same cap alone.

const (
	envLabRole   = "CONCLAVE_LAB_ROLE"   // set in a lab subscriber process (the test binary itself)
	envLabReport = "CONCLAVE_LAB_REPORT" // where to write the figures as JSON
	labRoom      = "lab"
	labPortal    = "10.77.4.1:8080"

	labPhase1 = 15 * time.Second // capped
	labPhase2 = 20 * time.Second // cap raised
	labLast   = 8 * time.Second  // the end of phase 1 judged as settled
	// labWarmUp bounds the wait for the free subscriber to reach the top layer: Chromium
	// starts its layers small and grows them as its estimate of the unshaped link grows.
	labWarmUp = 35 * time.Second
	// labSettleFree is how long the warm-up goes on once the free subscriber is on the top
	// layer, so that the windows judged leave its start out.
	labSettleFree = 3 * time.Second

	// The cap of phase 1: 300 kbit/s with a 6000-byte bucket and a 200 ms queue. The bucket
	// holds four full-size packets (at least one, 1514 bytes, is needed for anything to pass)
	// and lets a burst above the rate last at most 160 ms, so the cap holds on the time scale
	// of a frame or two; the 200 ms queue is a small home router's (7.5 KB at this rate): an
	// overshoot first shows as queueing delay, which a delay-based estimate sees, then as
	// tail drops. Phase 2 keeps the queue time and makes the bucket 16 KB, enough for the
	// tbf to reach 5000 kbit/s at any kernel timer rate.
	capBurst                = 6000
	raisedKbit, raisedBurst = 5000, 16000
	capLatency              = 200 * time.Millisecond

	// Assertions: generous, functional.
	minCappedFPS  = 5.0
	maxFreeFreeze = time.Second
)

// capKbit is phase 1's cap: 300 kbit/s, or CONCLAVE_LAB_CAP_KBIT (e.g. 100: below the lowest
// layer with audio, where congestion control falls back to reduced frame rates); a capped
// subscriber may receive at most the cap and 10 %.
var (
	capKbit       = envInt("CONCLAVE_LAB_CAP_KBIT", 300)
	maxCappedKbps = float64(capKbit) * 1.1
)

// envInt reads a positive integer from the environment, def when unset or not one.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// labFieldTrials lets Chromium send all three simulcast layers of a 640x480 camera: by
// default (WebRTC-LegacySimulcastLayerLimit) it sends at most two below 960x540, and drops the
// top one, leaving a 320x240 top layer that fits under the cap by itself.
const labFieldTrials = "WebRTC-LegacySimulcastLayerLimit/Disabled/"

// labSubnets are the client namespaces and their /24s, in link order.
var labSubnets = []labSubnet{
	{"pub", "10.77.4"}, {"capped", "10.77.5"}, {"free", "10.77.6"}, {"cbrowser", "10.77.7"},
}

// TestLab runs the congestion-control lab scenarios. It needs root (network namespaces) and
// Chromium, like TestBrowser/TURN.
//
// It is a measurement run (scripts/netlab), not part of the default suite: its functional
// bounds still fail in some runs (docs/netlab-results.md), and a test that fails now and then
// must not gate a merge. CONCLAVE_LAB=1 runs it.
func TestLab(t *testing.T) {
	if testing.Short() {
		t.Skip("the lab is not short")
	}
	if os.Getenv("CONCLAVE_LAB") == "" {
		t.Skip("network lab scenario: run scripts/netlab, or CONCLAVE_LAB=1 go test -run TestLab ./web/")
	}
	requireTools(t)
	bin := buildBinary(t)
	art := artifactsDir(t)
	t.Run("CappedSubscribers", func(t *testing.T) { testLab(t, bin, art) })
	t.Run("Loss", func(t *testing.T) { testLabLoss(t, bin, art) })
}

// labNet is the lab's server namespace and, by name, its client namespaces with the server's
// device toward each.
type labNet struct {
	server  *netlab.NS
	hosts   map[string]*netlab.NS
	devs    map[string]string // client name → the server's device of its link
	subnets []labSubnet
}

// labSubnet is a client namespace and its /24 (server .1, client .2).
type labSubnet struct{ name, subnet string }

// buildLabNet links every client namespace of subnets to the server namespace; each client
// routes everything through its link, so it reaches the portal's address on the pub link
// (subnets[0] must be pub).
func buildLabNet(t *testing.T, subnets []labSubnet) *labNet {
	t.Helper()
	lab := netlab.New(t)
	n := &labNet{server: lab.Namespace("server"), hosts: map[string]*netlab.NS{}, devs: map[string]string{}, subnets: subnets}
	for _, s := range subnets {
		ns := lab.Namespace(s.name)
		n.devs[s.name], _ = lab.Link(n.server, ns, s.subnet+".1/24", s.subnet+".2/24")
		ns.Route(t, "default", s.subnet+".1")
		n.hosts[s.name] = ns
	}
	return n
}

// startLabServer runs the all-in-one in the server namespace, media on every lab device and
// no TURN (every client reaches the server directly).
func startLabServer(t *testing.T, bin string, n *labNet) {
	t.Helper()
	var devs []string
	for _, s := range n.subnets {
		devs = append(devs, n.devs[s.name])
	}
	cfg := "turn:\n  enabled: false\nwebrtc:\n  interfaces: [" + strings.Join(devs, ", ") + "]\n"
	args := n.server.Args(bin)
	p := e2eutil.Start(t, args[0], args[1:],
		"CONCLAVE_CONFIG="+e2eutil.WriteConfig(t, cfg),
		"CONCLAVE_DATA_DIR="+filepath.Join(t.TempDir(), "data"),
		"CONCLAVE_MANAGEMENT_LISTEN=10.77.4.1:3000", "CONCLAVE_PORTAL_LISTEN="+labPortal,
		"CONCLAVE_PORTAL_PUBLIC_HOST="+labPortal,
		"CONCLAVE_BUS_URL=", "CONCLAVE_MONGO_URI=", "CONCLAVE_CLUSTER_KEY=",
		"CONCLAVE_SUPER_SERVICE_ID=", "CONCLAVE_SUPER_SERVICE_KEY=",
		"CONCLAVE_DEV_TOKENS=1", "CONCLAVE_LOG_LEVEL="+cmp.Or(os.Getenv("CONCLAVE_LAB_LOG_LEVEL"), "warn"))
	p.WaitOutput(t, "the banner", time.Minute, func(out string) bool { return strings.Contains(out, "Conclave is running") })
	if art := os.Getenv(envArtifacts); art != "" { // the server's log beside the clients' outputs
		t.Cleanup(func() {
			if err := os.WriteFile(filepath.Join(art, "lab-server.log"), []byte(p.Output()), 0o644); err != nil {
				t.Error(err)
			}
		})
	}
}

// labRun is one run of the scenario: its processes and the times of its phases.
type labRun struct {
	load                string // /proc/loadavg at the start: the machine may be busy with more
	stop                string // the file whose existence ends every client
	pub, cgo, fgo, cweb *nodeScript
	warm, p1, p2, end   time.Time
}

func testLab(t *testing.T, bin, art string) {
	wall := time.Now()
	n := buildLabNet(t, labSubnets)
	startLabServer(t, bin, n)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := &labRun{stop: filepath.Join(t.TempDir(), "stop"), load: loadAvg()}
	r.start(ctx, t, n, art)
	r.warmUp(ctx, t)
	r.phases(ctx, t, n)
	res := r.collect(t)
	rep := res.report(wall)
	rep.log(t)
	res.check(t, rep)
	writeLabReport(t, rep)
}

// start launches the publisher, waits for its stream, then the three subscribers.
func (r *labRun) start(ctx context.Context, t *testing.T, n *labNet, art string) {
	t.Helper()
	t.Cleanup(func() {
		_ = os.WriteFile(r.stop, nil, 0o600) // ends the clients of a failed run
		r.saveOutputs(t, art)
	})
	var stream string
	r.pub, stream = startLabPublisher(ctx, t, n, r.stop, art)
	r.cgo = startLabSubscriber(ctx, t, n.hosts["capped"], "capped-go", stream, r.stop)
	r.fgo = startLabSubscriber(ctx, t, n.hosts["free"], "free-go", stream, r.stop)
	r.cweb = startNodeCmd(t, n.hosts["cbrowser"].Command(ctx, "node", "lab.js"), "PORTAL_URL=http://"+labPortal,
		"ROOM="+labRoom, "MODE=subscribe", "STREAM="+stream, "STOP_FILE="+r.stop, envArtifacts+"="+art, labChromiumArgs)
}

// labChromiumArgs lets Chromium use its camera on the lab's plain-HTTP portal and send all
// three simulcast layers.
const labChromiumArgs = "CHROMIUM_ARGS_EXTRA=--unsafely-treat-insecure-origin-as-secure=http://" + labPortal +
	" --force-fieldtrials=" + labFieldTrials

// startLabPublisher starts the Chromium publisher in the pub namespace and returns it with
// the id of its stream.
func startLabPublisher(ctx context.Context, t *testing.T, n *labNet, stop, art string) (*nodeScript, string) {
	t.Helper()
	pub := startNodeCmd(t, n.hosts["pub"].Command(ctx, "node", "lab.js"), "PORTAL_URL=http://"+labPortal,
		"ROOM="+labRoom, "MODE=publish", "STOP_FILE="+stop, envArtifacts+"="+art, labChromiumArgs)
	return pub, strings.Fields(waitLinePrefix(ctx, t, pub, "STREAM "))[1]
}

// startLabSubscriber runs a Go subscriber (this test binary in the subscriber role) in ns.
func startLabSubscriber(ctx context.Context, t *testing.T, ns *netlab.NS, user, stream, stop string, env ...string) *nodeScript {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return startNodeCmd(t, ns.Command(ctx, exe), append([]string{envLabRole + "=subscriber", "LAB_PORTAL=http://" + labPortal,
		"LAB_ROOM=" + labRoom, "LAB_USER=" + user, "LAB_STREAM=" + stream, "LAB_STOP_FILE=" + stop}, env...)...)
}

// warmUp waits until every subscriber receives video and the free one is on the size of the
// publisher's largest layer, then labSettleFree more.
func (r *labRun) warmUp(ctx context.Context, t *testing.T) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(labWarmUp)
	for {
		top := lastPubTop(r.pub.output.String())
		free, _ := lastOf[subStatus](r.fgo.output.String(), "STATUS ")
		capped, _ := lastOf[subStatus](r.cgo.output.String(), "STATUS ")
		web, _ := lastOf[subSample](r.cweb.output.String(), "SUBSTATS ")
		if top.Width > 0 && free.Size == top.String() && capped.Frames > 0 && web.FramesDecoded > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Logf("warm-up: not all ready after %v (publisher's top %v, free %+v, capped %+v, browser %+v); going on",
				labWarmUp, top, free, capped, web)
			break
		}
		sleepCtx(ctx, t, 250*time.Millisecond)
	}
	sleepCtx(ctx, t, labSettleFree)
	r.warm = time.Now()
	t.Logf("warm-up: %.1f s", r.warm.Sub(start).Seconds())
}

// phases caps the two capped links, waits, raises the cap, waits.
func (r *labRun) phases(ctx context.Context, t *testing.T, n *labNet) {
	t.Helper()
	for _, h := range []string{"capped", "cbrowser"} {
		n.server.Shape(t, n.devs[h], capKbit, capBurst, capLatency)
	}
	r.p1 = time.Now()
	sleepCtx(ctx, t, labPhase1)
	for _, h := range []string{"capped", "cbrowser"} {
		n.server.Shape(t, n.devs[h], raisedKbit, raisedBurst, capLatency)
	}
	r.p2 = time.Now()
	sleepCtx(ctx, t, labPhase2)
	r.end = time.Now()
}

// labResults is what the clients reported once stopped.
type labResults struct {
	*labRun
	capped, free media.Recording
	web          []subSample
	pub          labPublisher
	pubAll       []pubSample
}

// labPublisher is the publisher's encodings at the end of the warm-up and of each phase.
type labPublisher struct {
	WarmUp      []pubLayer `json:"warmUp"`
	EndOfPhase1 []pubLayer `json:"endOfPhase1"`
	EndOfPhase2 []pubLayer `json:"endOfPhase2"`
}

// collect stops every client and parses what it reported.
func (r *labRun) collect(t *testing.T) *labResults {
	t.Helper()
	if err := os.WriteFile(r.stop, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	res := &labResults{labRun: r}
	for _, n := range []*nodeScript{r.pub, r.cgo, r.fgo, r.cweb} {
		labWait(t, n)
	}
	res.capped, res.free = recordingOf(t, r.cgo), recordingOf(t, r.fgo)
	res.web = subSamples(t, r.cweb.output.String())
	res.pubAll, _ = eachLine[pubSample](r.pub.output.String(), "PUBSTATS ")
	res.pub = labPublisher{pubLayersAt(res.pubAll, r.warm), pubLayersAt(res.pubAll, r.p2), pubLayersAt(res.pubAll, r.end)}
	return res
}

// saveOutputs writes every client's output to the artifacts directory (kept when
// $CONCLAVE_ARTIFACTS is set), for a look at the whole run.
func (r *labRun) saveOutputs(t *testing.T, art string) {
	t.Helper()
	for name, n := range map[string]*nodeScript{"publisher": r.pub, "capped-go": r.cgo, "free-go": r.fgo, "capped-chromium": r.cweb} {
		if n == nil {
			continue // not started: the run failed before
		}
		if err := os.WriteFile(filepath.Join(art, "lab-"+name+".log"), []byte(n.output.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
	t.Logf("client outputs in %s/lab-*.log", art)
}

// labWait waits for a client's RESULT like nodeScript.wait, logging its output only when it
// failed (the subscribers' outputs hold their whole recordings).
func labWait(t *testing.T, n *nodeScript) {
	t.Helper()
	for range n.lines {
	}
	err := <-n.done
	res, _ := lastOf[nodeResult](n.output.String(), "RESULT ")
	if !res.OK || err != nil {
		t.Fatalf("%s failed (exit %v): %s\n%s", res.Test, err, res.Error, e2eutil.Tail(n.output.String(), 4000))
	}
}

// writeLabReport writes the figures as JSON to $CONCLAVE_LAB_REPORT, when set.
func writeLabReport(t *testing.T, rep any) {
	t.Helper()
	path := os.Getenv(envLabReport)
	if path == "" {
		return
	}
	if _, loss := rep.(*lossReport); loss { // the second scenario: beside the first one's
		path = strings.TrimSuffix(path, ".json") + "-loss.json"
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("figures written to %s", path)
}

// errLabLine reports a client output line the test cannot parse.
var errLabLine = errors.New("bad lab output line")

// lastOf decodes the last line of out starting with prefix; ok is false when there is none
// or it does not decode.
func lastOf[T any](out, prefix string) (v T, ok bool) {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if j, found := strings.CutPrefix(lines[i], prefix); found {
			return v, json.Unmarshal([]byte(j), &v) == nil
		}
	}
	return v, false
}

// eachLine decodes every line of out starting with prefix into a new T.
func eachLine[T any](out, prefix string) ([]T, error) {
	var all []T
	for _, l := range strings.Split(out, "\n") {
		j, ok := strings.CutPrefix(l, prefix)
		if !ok {
			continue
		}
		var v T
		if err := json.Unmarshal([]byte(j), &v); err != nil {
			return nil, fmt.Errorf("%w %q: %v", errLabLine, l, err)
		}
		all = append(all, v)
	}
	return all, nil
}
