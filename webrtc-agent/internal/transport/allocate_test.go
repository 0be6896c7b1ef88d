package transport

import (
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
		cs = append(cs, layerChoice{track: t, bps: r})
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
		{"paused", 90, [][]int{{100, 300, 1000}}, []int{-1}, false},
		{"no simulcast fits", 400, [][]int{{300}}, []int{0}, false},
		// Two videos: both get their lowest before either steps up, then they take turns.
		{"fair lowest first", 250, [][]int{{100, 300, 1000}, {100, 300, 1000}}, []int{0, 0}, false},
		{"turns", 700, [][]int{{100, 300, 1000}, {100, 300, 1000}}, []int{1, 1}, false},
		{"first gets the step left", 500, [][]int{{100, 300, 1000}, {100, 300, 1000}}, []int{1, 0}, false},
		{"second paused", 150, [][]int{{100, 300}, {100, 300}}, []int{0, -1}, false},
		{"no evidence: lowest kept", 150, [][]int{{100, 300}, {100, 300}}, []int{0, 0}, true},
		{"no evidence: single layer kept", 100, [][]int{{300}}, []int{0}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var items []*allocItem
			for _, rates := range tc.cands {
				_, cs := layers(rates...)
				items = append(items, &allocItem{cands: cs})
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
			if (left < 0 && !tc.noStop) || left+used != tc.budget {
				t.Errorf("left %d, used %d of %d", left, used, tc.budget)
			}
		})
	}
}

// TestAllocApplyBackoff follows one subscription through congestion: down at once, up only
// after the back-off, a failed upgrade doubles the back-off, pause and resume.
func TestAllocApplyBackoff(t *testing.T) {
	ts, cs := layers(100, 300, 1000)
	down := sfu.NewDownTrack("v", "s", ts[2])
	st := &videoAlloc{}
	now := time.Unix(1000, 0)
	step := func(choice int, wantChanged bool, wantTarget *sfu.Track, wantPaused bool) {
		t.Helper()
		it := &allocItem{down: down, state: st, cands: cs, choice: choice}
		if got := it.apply(now); got != wantChanged {
			t.Fatalf("at %v choice %d: changed %v, want %v", now.Unix()-1000, choice, got, wantChanged)
		}
		if down.Target() != wantTarget || down.Paused() != wantPaused {
			t.Fatalf("at %v: target %s paused %v, want %s %v", now.Unix()-1000, down.Target().ID(), down.Paused(),
				wantTarget.ID(), wantPaused)
		}
	}
	step(2, false, ts[2], false)
	step(0, true, ts[0], false) // congestion: down at once
	now = now.Add(time.Second)
	step(2, false, ts[0], false) // too early to go up
	now = now.Add(time.Second)
	step(1, true, ts[1], false) // back-off (2 s) over
	now = now.Add(time.Second)
	step(0, true, ts[0], false) // the upgrade failed within 5 s: back-off doubles to 4 s
	now = now.Add(3 * time.Second)
	step(1, false, ts[0], false)
	now = now.Add(time.Second)
	step(1, true, ts[1], false)
	now = now.Add(10 * time.Second)
	step(-1, true, ts[1], true) // nothing fits: paused, the layer kept
	now = now.Add(time.Second)
	step(-1, false, ts[1], true)
	now = now.Add(4 * time.Second)
	step(0, true, ts[0], false) // resumed on the layer that fits
	now = now.Add(40 * time.Second)
	step(0, false, ts[0], false)
	step(2, true, ts[2], false) // long since the last step down: no back-off
	_, _, pauses := down.Counters()
	if pauses != 1 {
		t.Fatalf("pauses %d, want 1", pauses)
	}
}

// TestAllocStoppedLayer moves a subscription off a layer that stopped flowing at once.
func TestAllocStoppedLayer(t *testing.T) {
	ts, cs := layers(100, 300, 1000)
	down := sfu.NewDownTrack("v", "s", ts[2])
	st := &videoAlloc{lastDown: time.Unix(999, 0)}
	it := &allocItem{down: down, state: st, cands: cs[:2], choice: 1} // the top layer stopped
	if !it.apply(time.Unix(1000, 0)) || down.Target() != ts[1] {
		t.Fatalf("target %s, want %s", down.Target().ID(), ts[1].ID())
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
