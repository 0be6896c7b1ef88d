package web

// The lab's figures: client output lines parsed into windows, the report and its table.

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
)

// pubLayer is one encoding in the publisher's PUBSTATS line.
type pubLayer struct {
	Rid    string  `json:"rid"`
	Width  int     `json:"width"`
	Height int     `json:"height"`
	FPS    float64 `json:"fps"`
	Kbps   float64 `json:"kbps"`
	Limit  string  `json:"limit,omitempty"` // Chromium's qualityLimitationReason
}

// pubSample is one PUBSTATS line.
type pubSample struct {
	At     int64      `json:"at"` // unix ms
	Layers []pubLayer `json:"layers"`
}

// subSample is one SUBSTATS line: the Chromium subscriber's inbound-rtp video statistics.
type subSample struct {
	At                   int64   `json:"at"` // unix ms
	Width                int     `json:"width"`
	Height               int     `json:"height"`
	FramesDecoded        int64   `json:"framesDecoded"`
	FramesReceived       int64   `json:"framesReceived"`
	FreezeCount          int64   `json:"freezeCount"`
	TotalFreezesDuration float64 `json:"totalFreezesDuration"` // seconds
	PauseCount           int64   `json:"pauseCount"`           // gaps over 5 s, not counted as freezes
	TotalPausesDuration  float64 `json:"totalPausesDuration"`  // seconds
	BytesReceived        int64   `json:"bytesReceived"`        // payload bytes
	PacketsReceived      int64   `json:"packetsReceived"`
	PacketsLost          int64   `json:"packetsLost"`
	Retransmitted        int64   `json:"retransmittedPacketsReceived"`
}

func (s subSample) size() media.Size { return media.Size{Width: s.Width, Height: s.Height} }

func (s subSample) at() time.Time { return time.UnixMilli(s.At) }

// lastPubTop returns the size of the publisher's largest encoding in its last PUBSTATS, once
// every encoding sends (Chromium starts the larger ones as its estimate grows); a zero Size
// before.
func lastPubTop(out string) media.Size {
	var top media.Size
	s, _ := lastOf[pubSample](out, "PUBSTATS ")
	for _, l := range s.Layers {
		if l.Width == 0 || l.FPS == 0 {
			return media.Size{}
		}
		if z := (media.Size{Width: l.Width, Height: l.Height}); area(z) > area(top) {
			top = z
		}
	}
	return top
}

// loadAvg returns the first three fields of /proc/loadavg.
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// pubLayersAt returns the publisher's encodings in its last PUBSTATS before at.
func pubLayersAt(all []pubSample, at time.Time) []pubLayer {
	var layers []pubLayer
	for _, s := range all {
		if s.At <= at.UnixMilli() {
			layers = s.Layers
		}
	}
	return layers
}

// recordingOf parses a Go subscriber's RECORDING.
func recordingOf(t *testing.T, n *nodeScript) media.Recording {
	t.Helper()
	rec, ok := lastOf[media.Recording](n.output.String(), "RECORDING ")
	if !ok {
		t.Fatalf("no RECORDING from a subscriber:\n%s", e2eutil.Tail(n.output.String(), 4000))
	}
	return rec
}

// subSamples parses the Chromium subscriber's SUBSTATS lines.
func subSamples(t *testing.T, out string) []subSample {
	t.Helper()
	all, err := eachLine[subSample](out, "SUBSTATS ")
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// labWindow is what a subscriber received during a window.
type labWindow struct {
	FPS             float64  `json:"fps"`
	Kbps            float64  `json:"kbps"` // Go: RTP bytes; Chromium: payload bytes
	LossPct         float64  `json:"lossPct"`
	Freezes         int      `json:"freezes"`
	FreezeMS        int64    `json:"freezeMs"`
	LongestFreezeMS int64    `json:"longestFreezeMs"` // -1: not known (Chromium)
	Sizes           []string `json:"sizes"`           // shown at the start, then each change
	Retransmitted   int64    `json:"retransmitted"`   // Chromium: retransmitted packets received
}

// labFigures are one subscriber's figures.
type labFigures struct {
	Name   string `json:"name"`
	Capped bool   `json:"capped"`
	// SettleMS is the time from the cap to the last size change of phase 1 (null: none).
	SettleMS *int64 `json:"settleMs"`
	// BackToTopMS is the time from the raise to the first top-layer picture (null: never).
	BackToTopMS *int64    `json:"backToTopMs"`
	EndOfPhase1 labWindow `json:"endOfPhase1"` // its last labLast
	Phase1      labWindow `json:"phase1"`
	Phase2      labWindow `json:"phase2"`
	Phases      labWindow `json:"phases"` // both phases, for the free subscriber's checks
}

// labReport is the run's figures, logged and written to $CONCLAVE_LAB_REPORT.
type labReport struct {
	Scenario    string       `json:"scenario"`
	Started     time.Time    `json:"started"`
	WallS       float64      `json:"wallS"`
	WarmUpS     float64      `json:"warmUpS"`
	Phase1S     float64      `json:"phase1S"`
	Phase2S     float64      `json:"phase2S"`
	CapKbit     int          `json:"capKbit"`
	RaisedKbit  int          `json:"raisedKbit"`
	LoadAvg     [2]string    `json:"loadAvg"`     // /proc/loadavg at the start and at the end
	Top         string       `json:"top"`         // the largest size the publisher sent
	FreeLargest string       `json:"freeLargest"` // the largest size the free subscriber received
	Publisher   labPublisher `json:"publisher"`
	Subscribers []labFigures `json:"subscribers"`
	Failures    []string     `json:"failures"`
}

// top is the largest size the publisher sent during the run (what every subscriber with
// room for it should get), or, if it reported none, the largest the free subscriber received.
func (res *labResults) top() media.Size {
	top := pubTop(res.pubAll)
	if top.Width == 0 {
		top = largest(res.free)
	}
	return top
}

// pubTop is the largest size the publisher sent in its PUBSTATS lines.
func pubTop(all []pubSample) media.Size {
	var top media.Size
	for _, p := range all {
		for _, l := range p.Layers {
			if z := (media.Size{Width: l.Width, Height: l.Height}); l.FPS > 0 && area(z) > area(top) {
				top = z
			}
		}
	}
	return top
}

func area(s media.Size) int { return s.Width * s.Height }

// largest is the largest size of a recording's keyframes.
func largest(rec media.Recording) media.Size {
	var top media.Size
	for _, k := range rec.Sizes {
		if area(k.Size) > area(top) {
			top = k.Size
		}
	}
	return top
}

// report computes the figures.
func (res *labResults) report(wall time.Time) *labReport {
	top := res.top()
	return &labReport{Scenario: "simulcast-capped-subscribers", Started: wall, WallS: time.Since(wall).Seconds(),
		WarmUpS: res.warm.Sub(wall).Seconds(), Phase1S: res.p2.Sub(res.p1).Seconds(), Phase2S: res.end.Sub(res.p2).Seconds(),
		CapKbit: capKbit, RaisedKbit: raisedKbit, LoadAvg: [2]string{res.load, loadAvg()}, Top: top.String(), FreeLargest: largest(res.free).String(), Publisher: res.pub,
		Subscribers: []labFigures{
			res.goFigures("capped-go", true, res.capped, top),
			res.goFigures("free-go", false, res.free, top),
			res.webFigures("capped-chromium", top),
		}}
}

// goFigures computes a Go subscriber's figures from its recording.
func (res *labResults) goFigures(name string, capped bool, rec media.Recording, top media.Size) labFigures {
	win := func(from, to time.Time) labWindow { return goWindow(rec.Summary(from, to)) }
	f := labFigures{Name: name, Capped: capped, EndOfPhase1: win(res.p2.Add(-labLast), res.p2),
		Phase1: win(res.p1, res.p2), Phase2: win(res.p2, res.end), Phases: win(res.p1, res.end)}
	if ch := rec.Changes(res.p1, res.p2); len(ch) > 0 {
		f.SettleMS = msPtr(ch[len(ch)-1].At.Sub(res.p1))
	}
	f.BackToTopMS = backToTop(rec, res.p2, res.end, top)
	return f
}

// backToTop returns the time from the raise to the first top-layer frame: the first frame
// after it when the last keyframe before was of the top size (and no other came first),
// else the first top-size keyframe after it; nil if none came by end.
func backToTop(rec media.Recording, raise, end time.Time, top media.Size) *int64 {
	changes := rec.Changes(raise, end)
	first, ok := rec.FrameAfter(raise)
	if s, had := rec.SizeAt(raise); had && s == top && ok && first.Before(end) &&
		(len(changes) == 0 || !changes[0].At.Before(first)) {
		return msPtr(first.Sub(raise))
	}
	for _, c := range changes {
		if c.Size == top {
			return msPtr(c.At.Sub(raise))
		}
	}
	return nil
}

func goWindow(s media.Summary) labWindow {
	w := labWindow{FPS: s.FPS, Kbps: s.Kbps, LossPct: s.LossPercent, Freezes: s.Freezes,
		FreezeMS: s.FreezeTotal.Milliseconds(), LongestFreezeMS: s.LongestFreeze.Milliseconds()}
	for _, z := range s.Sizes {
		w.Sizes = append(w.Sizes, z.String())
	}
	return w
}

func msPtr(d time.Duration) *int64 {
	ms := d.Milliseconds()
	return &ms
}

// webFigures computes the Chromium subscriber's figures from its 1-s samples.
func (res *labResults) webFigures(name string, top media.Size) labFigures {
	ss := res.web
	f := labFigures{Name: name, Capped: true, EndOfPhase1: webWindow(ss, res.p2.Add(-labLast), res.p2),
		Phase1: webWindow(ss, res.p1, res.p2), Phase2: webWindow(ss, res.p2, res.end), Phases: webWindow(ss, res.p1, res.end)}
	var prev media.Size
	for i, s := range ss {
		at := s.at()
		z, ok := shown(ss, i)
		switch {
		case !ok:
			continue
		case !at.Before(res.p1) && at.Before(res.p2) && z != prev:
			f.SettleMS = msPtr(at.Sub(res.p1))
		case !at.Before(res.p2) && at.Before(res.end) && z == top && f.BackToTopMS == nil:
			f.BackToTopMS = msPtr(max(0, at.Sub(res.p2)))
		}
		prev = z
	}
	return f
}

// shown returns the size of the frames Chromium decoded between samples i-1 and i; ok is
// false when it decoded none (frameWidth keeps the last frame's size through a pause).
func shown(ss []subSample, i int) (z media.Size, ok bool) {
	if i == 0 || ss[i].FramesDecoded <= ss[i-1].FramesDecoded || ss[i].Width == 0 {
		return z, false
	}
	return ss[i].size(), true
}

// webWindow is the difference between the first sample at or after from and the last one
// at or before to.
func webWindow(ss []subSample, from, to time.Time) labWindow {
	w := labWindow{LongestFreezeMS: -1}
	var a, b *subSample
	for i := range ss {
		s := &ss[i]
		if s.at().Before(from) || s.at().After(to) {
			continue
		}
		if a == nil {
			a = s
		}
		b = s
		if z, ok := shown(ss, i); ok && (len(w.Sizes) == 0 || w.Sizes[len(w.Sizes)-1] != z.String()) {
			w.Sizes = append(w.Sizes, z.String())
		}
	}
	if a == nil || b.At <= a.At {
		return w
	}
	secs := float64(b.At-a.At) / 1000
	w.FPS = float64(b.FramesDecoded-a.FramesDecoded) / secs
	w.Kbps = float64(b.BytesReceived-a.BytesReceived) * 8 / 1000 / secs
	if lost, got := b.PacketsLost-a.PacketsLost, b.PacketsReceived-a.PacketsReceived; lost+got > 0 {
		w.LossPct = 100 * float64(lost) / float64(lost+got)
	}
	// Chromium counts a gap of 5 s or more as a pause, not a freeze (webrtc-stats): both count.
	w.Retransmitted = b.Retransmitted - a.Retransmitted
	w.Freezes = int(b.FreezeCount + b.PauseCount - a.FreezeCount - a.PauseCount)
	w.FreezeMS = int64((b.TotalFreezesDuration + b.TotalPausesDuration - a.TotalFreezesDuration - a.TotalPausesDuration) * 1000)
	return w
}

// log prints the figures as a compact table.
func (rep *labReport) log(t *testing.T) {
	t.Helper()
	t.Logf("lab %s: top layer %s (the free subscriber's largest: %s); cap %d kbit/s for %.1f s, then %d kbit/s for %.1f s; warm-up ended %.1f s after the start; wall %.1f s; load average %s at the start, %s at the end",
		rep.Scenario, rep.Top, rep.FreeLargest, rep.CapKbit, rep.Phase1S, rep.RaisedKbit, rep.Phase2S, rep.WarmUpS, rep.WallS, rep.LoadAvg[0], rep.LoadAvg[1])
	for _, p := range []struct {
		when   string
		layers []pubLayer
	}{{"warm-up", rep.Publisher.WarmUp}, {"phase 1", rep.Publisher.EndOfPhase1}, {"phase 2", rep.Publisher.EndOfPhase2}} {
		var pub []string
		for _, l := range p.layers {
			pub = append(pub, fmt.Sprintf("%s %dx%d %.0f fps %.0f kbit/s %s", l.Rid, l.Width, l.Height, l.FPS, l.Kbps, l.Limit))
		}
		t.Logf("publisher at the end of %s: %s", p.when, strings.Join(pub, " | "))
	}
	t.Logf("%-16s %8s | %-48s | %10s | %-40s", "subscriber", "settle", "last 8 s of phase 1: fps kbit/s loss% freezes", "back to top", "phase 2: fps kbit/s loss% freezes")
	for _, f := range rep.Subscribers {
		t.Logf("%-16s %8s | %-48s | %10s | %-40s", f.Name, msText(f.SettleMS), f.EndOfPhase1.text(), msText(f.BackToTopMS), f.Phase2.text())
	}
}

func msText(ms *int64) string {
	if ms == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f s", float64(*ms)/1000)
}

func (w labWindow) text() string {
	longest := ""
	if w.LongestFreezeMS >= 0 {
		longest = fmt.Sprintf(" max %.1f", float64(w.LongestFreezeMS)/1000)
	}
	return fmt.Sprintf("%4.1f %5.0f %5.1f %d (%.1f s%s) %s", w.FPS, w.Kbps, w.LossPct, w.Freezes,
		float64(w.FreezeMS)/1000, longest, strings.Join(w.Sizes, ">"))
}

// check asserts what congestion control toward subscribers must achieve, generously: a
// capped subscriber has a watchable picture (≥ 5 frames/s) within its cap, below the top
// layer, at the end of phase 1 and is back on the top layer before phase 2 ends; the free
// subscriber stays on the top layer without a freeze over 1 s.
func (res *labResults) check(t *testing.T, rep *labReport) {
	t.Helper()
	need := func(ok bool, format string, args ...any) {
		if !ok {
			msg := fmt.Sprintf(format, args...)
			rep.Failures = append(rep.Failures, msg)
			t.Error(msg)
		}
	}
	for _, f := range rep.Subscribers {
		end := f.EndOfPhase1
		if !f.Capped {
			need(len(f.Phases.Sizes) > 0 && !slices.ContainsFunc(f.Phases.Sizes, func(s string) bool { return s != rep.Top }),
				"%s: left the top layer %s during the phases (sizes %v)", f.Name, rep.Top, f.Phases.Sizes)
			need(f.Phases.LongestFreezeMS <= maxFreeFreeze.Milliseconds(),
				"%s: froze for %d ms during the phases, want at most %v", f.Name, f.Phases.LongestFreezeMS, maxFreeFreeze)
			continue
		}
		need(end.FPS >= minCappedFPS, "%s: %.1f frames/s in the last %v of phase 1, want at least %.0f", f.Name, end.FPS, labLast, minCappedFPS)
		need(end.Kbps <= maxCappedKbps, "%s: %.0f kbit/s in the last %v of phase 1, want at most %.0f", f.Name, end.Kbps, labLast, maxCappedKbps)
		need(!slices.Contains(end.Sizes, rep.Top), "%s: on the top layer %s in the last %v of phase 1 (sizes %v)", f.Name, rep.Top, labLast, end.Sizes)
		need(f.BackToTopMS != nil, "%s: not back on the top layer %s within the %.0f s after the raise", f.Name, rep.Top, rep.Phase2S)
	}
}
