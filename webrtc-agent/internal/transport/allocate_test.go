package transport

import (
	"encoding/binary"
	"log/slog"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
	"github.com/pion/webrtc/v4"
)

func vp8Track(id string) *sfu.Track {
	return sfu.NewTrack(sfu.TrackConfig{ID: id, Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}})
}

// layers returns three layer tracks and candidates with the given rates.
func layers(rates ...int) ([]*sfu.Track, []layerChoice) {
	var ts []*sfu.Track
	var cs []layerChoice
	for i, r := range rates {
		t := vp8Track(string(rune('a' + i)))
		ts = append(ts, t)
		cs = append(cs, layerChoice{track: t, tid: sfu.AllTemporal, bps: r})
	}
	return ts, cs
}

func TestAllocateShares(t *testing.T) {
	tests := []struct {
		name   string
		budget int
		cands  [][]int
		want   []int
		noStop bool // mayPause false
	}{
		{"everything fits", 5000, [][]int{{100, 300, 1000}}, []int{2}, false},
		{"middle layer", 500, [][]int{{100, 300, 1000}}, []int{1}, false},
		{"lowest only", 150, [][]int{{100, 300, 1000}}, []int{0}, false},
		{"paused", 50, [][]int{{100, 300, 1000}}, []int{-1}, false},
		{"short of the lowest but not starved: kept", 90, [][]int{{100, 300, 1000}}, []int{0}, false},
		{"no simulcast fits", 400, [][]int{{300}}, []int{0}, false},
		// Two videos: both get their lowest before either steps up, then they take turns.
		{"fair lowest first", 250, [][]int{{100, 300, 1000}, {100, 300, 1000}}, []int{0, 0}, false},
		{"turns", 700, [][]int{{100, 300, 1000}, {100, 300, 1000}}, []int{1, 1}, false},
		{"first gets the step left", 500, [][]int{{100, 300, 1000}, {100, 300, 1000}}, []int{1, 0}, false},
		{"second paused", 150, [][]int{{100, 300}, {100, 300}}, []int{0, -1}, false},
		{"second kept", 170, [][]int{{100, 300}, {100, 300}}, []int{0, 0}, false},
		{"no evidence: lowest kept", 150, [][]int{{100, 300}, {100, 300}}, []int{0, 0}, true},
		{"no evidence: single layer kept", 100, [][]int{{300}}, []int{0}, true},
		{"simulcast with one layer flowing: paused", 100, [][]int{{300}}, []int{-1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var items []*allocItem
			for _, rates := range tc.cands {
				_, cs := layers(rates...)
				items = append(items, &allocItem{cands: cs, layers: max(len(cs), 2)})
			}
			left := allocate(tc.budget, items, !tc.noStop)
			used := 0
			for i, it := range items {
				if it.choice != tc.want[i] {
					t.Errorf("item %d: choice %d, want %d", i, it.choice, tc.want[i])
				}
				if it.choice >= 0 {
					used += it.cands[it.choice].bps
				}
			}
			if left+used != tc.budget {
				t.Errorf("left %d, used %d of %d", left, used, tc.budget)
			}
		})
	}
}

// TestAllocStepBackoff follows one subscription through congestion: down at once, up only
// after the back-off, a failed up-step doubles the back-off, which resets after a long calm.
func TestAllocStepBackoff(t *testing.T) {
	ts, cs := layers(100, 300, 1000)
	down := sfu.NewDownTrack("v", "s", ts[2])
	it := &allocItem{down: down, state: &videoAlloc{}, cands: cs}
	now := time.Unix(1000, 0)
	if it.current() != 2 || !it.mayStepUp(now, false) {
		t.Fatalf("start: current %d", it.current())
	}
	it.choice = 0
	it.stepDown(now)
	if it.current() != 0 || down.Target() != ts[0] {
		t.Fatalf("after the step down: current %d", it.current())
	}
	if it.mayStepUp(now.Add(time.Second), false) || !it.mayStepUp(now.Add(2*time.Second), false) {
		t.Fatal("base back-off is not 2 s")
	}
	now = now.Add(2 * time.Second)
	it.stepUp(now, 1)
	now = now.Add(time.Second)
	it.choice = 0
	it.stepDown(now) // undone within 5 s: the back-off doubles
	it.stepDown(now) // the same congestion: once only
	if it.mayStepUp(now.Add(3*time.Second), false) || !it.mayStepUp(now.Add(4*time.Second), false) {
		t.Fatal("back-off after a failed step up is not 4 s")
	}
	now = now.Add(4 * time.Second)
	it.failUp(now) // a failed probe: 8 s
	if it.mayStepUp(now.Add(7*time.Second), false) || !it.mayStepUp(now.Add(8*time.Second), false) {
		t.Fatal("back-off after a failed probe is not 8 s")
	}
	it.choice = -1
	it.stepDown(now)
	if it.current() != -1 || !down.Paused() {
		t.Fatal("not paused")
	}
	if !it.mayStepUp(now.Add(upBackoffReset+time.Second), false) {
		t.Fatal("back-off not reset after a long calm")
	}
	it.stepUp(now.Add(40*time.Second), 0)
	if it.current() != 0 || down.Paused() {
		t.Fatal("not resumed on the lowest layer")
	}
}

// TestAllocStoppedLayer moves a subscription off a layer that stopped flowing at once.
func TestAllocStoppedLayer(t *testing.T) {
	ts, cs := layers(100, 300, 1000)
	down := sfu.NewDownTrack("v", "s", ts[2])
	it := &allocItem{down: down, state: &videoAlloc{}, cands: cs[:2], choice: 1} // the top layer stopped
	if it.current() != 2 {
		t.Fatalf("current %d, want 2 (not a candidate)", it.current())
	}
	it.stepDown(time.Unix(1000, 0))
	if down.Target() != ts[1] {
		t.Fatalf("target %s, want %s", down.Target().ID(), ts[1].ID())
	}
}

// TestAllocProbe: a step up waits for a probe; the probe succeeds when the estimate held
// (the step is taken and its rate trusted) and fails when the estimate fell (back-off). A
// paused video is probed once its back-off is over even when the estimate does not allow it.
func TestAllocProbe(t *testing.T) {
	ts, cs := layers(100, 300, 1000)
	down := sfu.NewDownTrack("v", "s", ts[0])
	it := &allocItem{down: down, state: &videoAlloc{}, cands: cs, choice: 1}
	tr := &Transport{log: slog.New(slog.DiscardHandler)}
	now := time.Unix(1000, 0)
	items := []*allocItem{it}
	tr.runProbe(now, 500, 50, items, items)
	p := tr.probe
	if p == nil || p.choice != 1 || p.bps != 240 || p.proves != 433 {
		t.Fatalf("probe %+v: want a step to 1 padding 240 bit/s proving (50+100+240)/0.9", p)
	}
	tr.runProbe(now.Add(time.Second), 500, 50, items, nil)
	if tr.probe == nil || down.Target() != ts[0] {
		t.Fatal("probe ended early")
	}
	tr.runProbe(now.Add(probeTime), 500, 50, items, nil)
	if tr.probe != nil || down.Target() != ts[1] || tr.trusted != p.proves {
		t.Fatalf("after the probe: target %s, trusted %d", down.Target().ID(), tr.trusted)
	}

	// A failing probe: the estimate falls while it runs.
	now = now.Add(10 * time.Second)
	it.choice = 2
	tr.runProbe(now, 2000, 50, items, items)
	if tr.probe == nil || tr.probe.choice != 2 {
		t.Fatalf("probe %+v", tr.probe)
	}
	tr.estFellAt = now.Add(500 * time.Millisecond)
	tr.runProbe(now.Add(500*time.Millisecond), 400, 50, items, nil)
	if tr.probe != nil || down.Target() != ts[1] || it.mayStepUp(now.Add(3*time.Second), false) {
		t.Fatal("a failed probe stepped up or left no back-off")
	}

	// Paused: probed toward the lowest layer once the back-off is over.
	it.choice = -1
	it.stepDown(now)
	later := now.Add(maxUpBackoff)
	tr.runProbe(later, 50, 50, items, items)
	if tr.probe == nil || tr.probe.choice != 0 || tr.probe.bps != 120 {
		t.Fatalf("paused video not probed: %+v", tr.probe)
	}
	tr.runProbe(later.Add(probeTime), 50, 50, items, nil)
	if down.Paused() || down.Target() != ts[0] {
		t.Fatal("not resumed after a successful probe")
	}
}

func TestCandidatesCeiling(t *testing.T) {
	// Tracks without measured rates are not candidates.
	ts, _ := layers(0, 0, 0)
	if got := candidates(ts, nil); len(got) != 0 {
		t.Fatalf("unmeasured layers are candidates: %v", got)
	}
}

func TestCmpMid(t *testing.T) {
	if cmpMid("2", "10") >= 0 || cmpMid("10", "2") <= 0 || cmpMid("a", "a") != 0 || cmpMid("a", "b") >= 0 {
		t.Fatal("mid order")
	}
}

// TestAllocateNeverPausesSingleLayer: a video without simulcast keeps its only layer however
// low the budget.
func TestAllocateNeverPausesSingleLayer(t *testing.T) {
	_, cs := layers(300)
	it := &allocItem{cands: cs, layers: 1}
	if allocate(10, []*allocItem{it}, true); it.choice != 0 {
		t.Fatalf("choice %d, want 0", it.choice)
	}
}

// temporalPacket is packet part (0 or 1) of frame i of an L1T3 VP8 stream of n-byte packets.
func temporalPacket(i, part, n int) []byte {
	tid := [4]byte{0, 2, 1, 2}[i%4]
	b := make([]byte, 12, n)
	b[0], b[1] = 0x80, 96
	binary.BigEndian.PutUint16(b[2:], uint16(2*i+part))
	binary.BigEndian.PutUint32(b[4:], uint32(i)*3000)
	first, vp8hdr := byte(0x80), byte(0x01)
	if part == 0 {
		first |= 0x10
	}
	if i == 0 {
		tid, vp8hdr = 0, 0
	}
	b = append(b, first, 0xE0, 0x80|byte(i>>8)&0x7F, byte(i), byte(i/4), tid<<6, vp8hdr)
	for len(b) < n {
		b = append(b, 0)
	}
	return b
}

// TestCandidatesTemporal: a layer sending VP8 temporal layers offers each lower temporal
// layer alone at its own rate, below the whole layer; choosing one sets the down-track's
// temporal ceiling and is recognised as the current choice.
func TestCandidatesTemporal(t *testing.T) {
	tr := vp8Track("l")
	start := time.Now()
	for i := 0; time.Since(start) < 1200*time.Millisecond; i++ {
		tr.Forward(temporalPacket(i, 0, 500))
		tr.Forward(temporalPacket(i, 1, 500))
		if i%10 == 0 {
			candidates([]*sfu.Track{tr}, nil) // polled, as the allocator does
		}
		time.Sleep(10 * time.Millisecond)
	}
	cs := candidates([]*sfu.Track{tr}, nil)
	if len(cs) != 3 || cs[0].tid != 0 || cs[1].tid != 1 || cs[2].tid != sfu.AllTemporal {
		t.Fatalf("candidates %+v: want temporal layers 0, 1 and the whole layer", cs)
	}
	if !(cs[0].bps < cs[1].bps && cs[1].bps < cs[2].bps) {
		t.Fatalf("rates not increasing: %+v", cs)
	}
	down := sfu.NewDownTrack("v", "s", tr)
	it := &allocItem{down: down, state: &videoAlloc{}, cands: cs}
	if it.current() != 2 {
		t.Fatalf("current %d, want 2 (every temporal layer)", it.current())
	}
	it.switchTo(0)
	if max, _ := down.Temporal(); max != 0 || it.current() != 0 {
		t.Fatalf("after choosing temporal layer 0: ceiling %d, current %d", max, it.current())
	}
	if got := choiceName(it, 0); got != "l/T0" {
		t.Fatalf("choice name %q", got)
	}
}

// TestAllocProbeJumpsToFit: a video several steps below what the estimate allows probes for
// that step at once, not for the next one up.
func TestAllocProbeJumpsToFit(t *testing.T) {
	ts, cs := layers(100, 150, 300, 1000)
	down := sfu.NewDownTrack("v", "s", ts[0])
	it := &allocItem{down: down, state: &videoAlloc{}, cands: cs, choice: 2}
	tr := &Transport{log: slog.New(slog.DiscardHandler)}
	items := []*allocItem{it}
	tr.runProbe(time.Unix(1000, 0), 1000, 50, items, items)
	if p := tr.probe; p == nil || p.choice != 2 || p.bps != 240 {
		t.Fatalf("probe %+v: want a step to 2 padding (300-100)*1.2 bit/s", p)
	}
}

// TestAllocProbeTargetByIdentity: the candidates are rebuilt every round and may change
// order as rates move; a probe steps up to the layer it probed for, not to whatever now sits
// at its old index.
func TestAllocProbeTargetByIdentity(t *testing.T) {
	ts, cs := layers(100, 300, 1000)
	down := sfu.NewDownTrack("v", "s", ts[0])
	it := &allocItem{down: down, state: &videoAlloc{}, cands: cs, choice: 1}
	tr := &Transport{log: slog.New(slog.DiscardHandler)}
	now := time.Unix(1000, 0)
	tr.runProbe(now, 500, 50, []*allocItem{it}, []*allocItem{it})
	if tr.probe == nil || tr.probe.target.track != ts[1] {
		t.Fatalf("probe %+v", tr.probe)
	}
	// Next round: a temporal candidate of the lowest layer now sits at index 1.
	it2 := &allocItem{down: down, state: it.state, cands: []layerChoice{cs[0], {track: ts[0], tid: 1, bps: 150}, cs[1], cs[2]}}
	tr.probe.it = it2
	tr.runProbe(now.Add(probeTime), 500, 50, []*allocItem{it2}, nil)
	if down.Target() != ts[1] {
		t.Fatalf("stepped up to %s, want %s", down.Target().ID(), ts[1].ID())
	}
	if max, _ := down.Temporal(); max != sfu.AllTemporal {
		t.Fatalf("temporal ceiling %d after stepping up to a whole layer", max)
	}
}

// TestAllocateTemporalSingleLayerNotPaused: a publication without simulcast whose only layer
// offers temporal steps keeps its lowest step however low the budget, takes a step that
// fits when starved, and keeps the whole layer when not starved.
func TestAllocateTemporalSingleLayerNotPaused(t *testing.T) {
	ts, _ := layers(300)
	it := &allocItem{layers: 1, cands: []layerChoice{{track: ts[0], tid: 0, bps: 100}, {track: ts[0], tid: 1, bps: 150},
		{track: ts[0], tid: sfu.AllTemporal, bps: 300}}}
	for _, tc := range []struct{ budget, want int }{{10, 0}, {170, 1}, {190, 2}} {
		if allocate(tc.budget, []*allocItem{it}, true); it.choice != tc.want {
			t.Errorf("budget %d: choice %d, want %d", tc.budget, it.choice, tc.want)
		}
	}
}

// TestCandidatesResumedLayer: a layer that flows again after a pause is a candidate at its
// last measured rate until its rate is measured anew (a window later), not dropped meanwhile.
func TestCandidatesResumedLayer(t *testing.T) {
	tr := vp8Track("l")
	start := time.Now()
	for i := 0; time.Since(start) < 700*time.Millisecond; i++ {
		tr.Forward(temporalPacket(4*i, 0, 500)) // base frames only: no temporal choice
		if i%10 == 0 {
			tr.Bitrate()
		}
		time.Sleep(10 * time.Millisecond)
	}
	tr.Bitrate()
	if tr.LastBitrate() <= 0 {
		t.Fatal("no rate measured")
	}
	time.Sleep(600 * time.Millisecond) // paused: the rate window lapses
	if tr.Bitrate() != 0 {
		t.Fatal("a paused layer still has a rate")
	}
	tr.Forward(temporalPacket(400, 0, 500)) // it flows again
	cs := candidates([]*sfu.Track{tr}, nil)
	if len(cs) != 1 || cs[0].bps != tr.LastBitrate() {
		t.Fatalf("candidates %+v, want the resumed layer at its last rate %d", cs, tr.LastBitrate())
	}
}

// TestAllocateTemporalOnlyInsteadOfPause: a simulcast video whose lowest layer still fits
// (or is not starved) keeps that whole layer; the lower temporal layers are chosen only
// where the video would otherwise be paused.
func TestAllocateTemporalOnlyInsteadOfPause(t *testing.T) {
	ts, _ := layers(130, 300)
	cands := func() []layerChoice {
		return []layerChoice{{track: ts[0], tid: 0, bps: 40}, {track: ts[0], tid: 1, bps: 70},
			{track: ts[0], tid: sfu.AllTemporal, bps: 130}, {track: ts[1], tid: sfu.AllTemporal, bps: 300}}
	}
	for _, tc := range []struct {
		budget, want int
	}{
		{500, 3}, // both fit: the top
		{150, 2}, // the lowest whole layer
		{90, 2},  // short of it but not starved (90 ≥ 0.6 × 130): kept, not its half rate
		{75, 1},  // starved: half its frame rate instead of a pause
		{50, 0},  // a quarter
		{30, -1}, // nothing fits: paused
	} {
		it := &allocItem{cands: cands(), layers: 2}
		if allocate(tc.budget, []*allocItem{it}, true); it.choice != tc.want {
			t.Errorf("budget %d: choice %d, want %d", tc.budget, it.choice, tc.want)
		}
	}
}
