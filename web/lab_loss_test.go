package web

// The loss lab: Chromium publishes its fake camera as VP8 simulcast to the all-in-one; two Go
// subscribers and a Chromium one, each behind its own veth link, receive the video without
// asking for a layer.
// The server's links toward them drop a random share of the UDP packets (nftables numgen; this
// kernel has no netem): 5 % for a phase, then 15 %. One subscriber NACKs what it misses (pion's
// default receiver, like a browser), the other only asks for a keyframe when a frame cannot be
// completed (LAB_NACK=0); Chromium NACKs and takes the retransmissions on RTX. What each decodes (client/media.Timeline: complete frames, freezes
// over 500 ms, loss left after repair) is the figure: how much NACK retransmission from the
// server's history saves.
//
// Topology (server .1, client .2 of each /24):
//
//	pub     10.77.4.0/24  Chromium publisher (never lossy; the portal listens on 10.77.4.1)
//	nack    10.77.8.0/24  Go subscriber with NACK, server→nack lossy
//	nonack  10.77.9.0/24  Go subscriber without NACK, server→nonack lossy
//	cweb    10.77.10.0/24 Chromium subscriber, server→cweb lossy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/client/media"
)

var lossSubnets = []labSubnet{{"pub", "10.77.4"}, {"nack", "10.77.8"}, {"nonack", "10.77.9"}, {"cweb", "10.77.10"}}

const (
	lossPhase = 20 * time.Second // per loss step
	// minNackFPS is the generous functional bound: with NACK, a subscriber losing up to 15 %
	// of its packets still decodes a watchable picture.
	minNackFPS = 5.0
)

// lossSteps are the random loss percentages of the phases, in order.
var lossSteps = []int{5, 15}

// lossReport is the loss lab's figures, logged and written beside the first scenario's.
type lossReport struct {
	Scenario string     `json:"scenario"`
	Started  time.Time  `json:"started"`
	WallS    float64    `json:"wallS"`
	PhaseS   float64    `json:"phaseS"`
	LoadAvg  [2]string  `json:"loadAvg"`
	Top      string     `json:"top"` // the largest size the publisher sent
	Steps    []lossStep `json:"steps"`
	Failures []string   `json:"failures"`
}

// lossStep is one phase: the loss applied and what each subscriber decoded.
type lossStep struct {
	LossPct int                  `json:"lossPct"`
	Subs    map[string]labWindow `json:"subscribers"` // "nack-go", "nonack-go", "chromium"
}

func testLabLoss(t *testing.T, bin, art string) {
	wall := time.Now()
	n := buildLabNet(t, lossSubnets)
	startLabServer(t, bin, n)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	load := loadAvg()
	stop := filepath.Join(t.TempDir(), "stop")
	var pub, nack, nonack, web *nodeScript
	t.Cleanup(func() {
		_ = os.WriteFile(stop, nil, 0o600)
		for name, s := range map[string]*nodeScript{"loss-publisher": pub, "loss-nack-go": nack, "loss-nonack-go": nonack, "loss-chromium": web} {
			if s != nil {
				_ = os.WriteFile(filepath.Join(art, "lab-"+name+".log"), []byte(s.output.String()), 0o644)
			}
		}
	})
	var stream string
	pub, stream = startLabPublisher(ctx, t, n, stop, art)
	nack = startLabSubscriber(ctx, t, n.hosts["nack"], "nack-go", stream, stop)
	nonack = startLabSubscriber(ctx, t, n.hosts["nonack"], "nonack-go", stream, stop, "LAB_NACK=0")
	web = startNodeCmd(t, n.hosts["cweb"].Command(ctx, "node", "lab.js"), "PORTAL_URL=http://"+labPortal,
		"ROOM="+labRoom, "MODE=subscribe", "STREAM="+stream, "STOP_FILE="+stop, envArtifacts+"="+art, labChromiumArgs)

	// Warm-up: both subscribers on the publisher's largest layer (or labWarmUp passed).
	deadline := time.Now().Add(labWarmUp)
	for {
		top := lastPubTop(pub.output.String())
		a, _ := lastOf[subStatus](nack.output.String(), "STATUS ")
		b, _ := lastOf[subStatus](nonack.output.String(), "STATUS ")
		w, _ := lastOf[subSample](web.output.String(), "SUBSTATS ")
		if top.Width > 0 && a.Size == top.String() && b.Size == top.String() && w.FramesDecoded > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Logf("warm-up: not all on the top layer after %v (top %v, nack %+v, nonack %+v, chromium %+v); going on", labWarmUp, top, a, b, w)
			break
		}
		sleepCtx(ctx, t, 250*time.Millisecond)
	}
	sleepCtx(ctx, t, labSettleFree)

	udpTo := func(host string) string { return `oifname "` + n.devs[host] + `" meta l4proto udp` }
	var bounds []time.Time
	for _, pct := range lossSteps {
		for _, h := range []string{"nack", "nonack", "cweb"} {
			n.server.Loss(t, pct, udpTo(h))
		}
		bounds = append(bounds, time.Now())
		sleepCtx(ctx, t, lossPhase)
	}
	bounds = append(bounds, time.Now())
	for _, h := range []string{"nack", "nonack", "cweb"} {
		n.server.Loss(t, 0, udpTo(h))
	}

	if err := os.WriteFile(stop, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*nodeScript{pub, nack, nonack, web} {
		labWait(t, s)
	}
	webSamples := subSamples(t, web.output.String())
	recs := map[string]media.Recording{"nack-go": recordingOf(t, nack), "nonack-go": recordingOf(t, nonack)}
	rep := &lossReport{Scenario: "random-loss", Started: wall, WallS: time.Since(wall).Seconds(), PhaseS: lossPhase.Seconds(),
		LoadAvg: [2]string{load, loadAvg()}}
	if all, err := eachLine[pubSample](pub.output.String(), "PUBSTATS "); err == nil {
		rep.Top = pubTop(all).String()
	}
	for i, pct := range lossSteps {
		step := lossStep{LossPct: pct, Subs: map[string]labWindow{}}
		for name, rec := range recs {
			step.Subs[name] = goWindow(rec.Summary(bounds[i], bounds[i+1]))
		}
		step.Subs["chromium"] = webWindow(webSamples, bounds[i], bounds[i+1])
		rep.Steps = append(rep.Steps, step)
	}
	rep.log(t)
	rep.check(t)
	writeLabReport(t, rep)
}

// log prints the figures, one row per loss step.
func (rep *lossReport) log(t *testing.T) {
	t.Helper()
	t.Logf("lab %s: top layer %s; %.0f s per step; wall %.1f s; load average %s at the start, %s at the end",
		rep.Scenario, rep.Top, rep.PhaseS, rep.WallS, rep.LoadAvg[0], rep.LoadAvg[1])
	t.Logf("%-6s | %-52s | %-52s | %s", "loss", "Go with NACK: fps kbit/s loss% left, freezes", "Go without NACK", "Chromium (NACK, RTX): … and retransmissions received")
	for _, s := range rep.Steps {
		c := s.Subs["chromium"]
		t.Logf("%4d %% | %-52s | %-52s | %s, %d retransmitted", s.LossPct, s.Subs["nack-go"].text(), s.Subs["nonack-go"].text(), c.text(), c.Retransmitted)
	}
}

// check asserts, generously, what NACK must achieve: with it the Go subscriber keeps a
// watchable picture at every step and is left with less loss than the link applied; Chromium
// keeps a watchable picture and receives retransmissions.
func (rep *lossReport) check(t *testing.T) {
	t.Helper()
	for _, s := range rep.Steps {
		w, c := s.Subs["nack-go"], s.Subs["chromium"]
		for _, f := range []struct {
			ok  bool
			msg string
		}{
			{w.FPS >= minNackFPS, fmt.Sprintf("with NACK at %d %% loss: %.1f frames/s, want at least %.0f", s.LossPct, w.FPS, minNackFPS)},
			{w.LossPct < float64(s.LossPct), fmt.Sprintf("with NACK at %d %% loss: %.1f %% of the packets still missing, want fewer than the link lost", s.LossPct, w.LossPct)},
			{c.FPS >= minNackFPS, fmt.Sprintf("Chromium at %d %% loss: %.1f frames/s, want at least %.0f", s.LossPct, c.FPS, minNackFPS)},
			{c.Retransmitted > 0, fmt.Sprintf("Chromium at %d %% loss: no retransmission received", s.LossPct)},
		} {
			if !f.ok {
				rep.Failures = append(rep.Failures, f.msg)
				t.Error(f.msg)
			}
		}
	}
}
