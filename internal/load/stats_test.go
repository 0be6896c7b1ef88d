package load

import (
	"errors"
	"testing"
	"time"
)

func TestSeqTracker(t *testing.T) {
	tests := []struct {
		name string
		seqs []uint16
		want int64
	}{
		{"none", nil, 0},
		{"in order", []uint16{1, 2, 3, 4}, 0},
		{"one gap", []uint16{1, 2, 4, 5}, 1},
		{"wrap without loss", []uint16{65534, 65535, 0, 1}, 0},
		{"wrap with loss", []uint16{65534, 0, 2}, 2},
		{"late retransmission fills the gap", []uint16{1, 3, 2, 4}, 0},
		{"a duplicate offsets a loss (a known blind spot)", []uint16{1, 1, 3}, 0},
		{"old packet after wrap", []uint16{65535, 0, 65535, 1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s seqTracker
			for _, q := range tt.seqs {
				s.push(q)
			}
			if got := s.lost(); got != tt.want {
				t.Fatalf("lost %d, want %d", got, tt.want)
			}
		})
	}
}

func TestFreezeTracker(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name   string
		frames []time.Duration // offsets from t0
		want   int64
	}{
		{"steady 30 fps", []time.Duration{0, 33 * time.Millisecond, 66 * time.Millisecond}, 0},
		{"exactly the gap is not a freeze", []time.Duration{0, FreezeGap}, 0},
		{"one freeze", []time.Duration{0, 33 * time.Millisecond, 700 * time.Millisecond, 733 * time.Millisecond}, 1},
		{"two freezes", []time.Duration{0, time.Second, 2 * time.Second}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f freezeTracker
			for i, d := range tt.frames {
				if first := f.frame(t0.Add(d)); first != (i == 0) {
					t.Fatalf("frame %d: first = %v", i, first)
				}
			}
			if f.freezes != tt.want {
				t.Fatalf("freezes %d, want %d", f.freezes, tt.want)
			}
		})
	}
	var f freezeTracker
	if f.pending(t0) {
		t.Fatal("pending before any frame")
	}
	f.frame(t0)
	if f.pending(t0.Add(FreezeGap)) || !f.pending(t0.Add(FreezeGap+time.Millisecond)) {
		t.Fatal("pending misjudged")
	}
}

func TestSummarize(t *testing.T) {
	var l latencies
	for i := 1; i <= 100; i++ {
		l.add(time.Duration(i) * time.Millisecond)
	}
	got := l.summary()
	want := LatencySummary{N: 100, P50: 50, P95: 95, P99: 99, Max: 100, Mean: 50.5}
	if got != want {
		t.Fatalf("summary %+v, want %+v", got, want)
	}
	if (&latencies{}).summary() != (LatencySummary{}) {
		t.Fatal("empty summary not zero")
	}
}

func TestErrorKinds(t *testing.T) {
	var e errorCounts
	base := errors.New("boom")
	e.add(errKind(kindErr("join", base)), kindErr("join", base))
	e.add(errKind(kindErr("join", kindErr("token", base))), nil) // the inner kind wins
	e.add(errKind(base), base)
	counts, first, total := e.snapshot()
	if total != 3 || counts["join"] != 1 || counts["token"] != 1 || counts["other"] != 1 {
		t.Fatalf("counts %v total %d", counts, total)
	}
	if first["join"] != "join: boom" {
		t.Fatalf("first %v", first)
	}
	if !errors.Is(kindErr("x", base), base) {
		t.Fatal("kindErr does not unwrap")
	}
}
