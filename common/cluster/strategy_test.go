package cluster

import (
	"slices"
	"testing"
)

// workers builds candidates named by id with the given loads.
func workers(loads map[string]float64, order ...string) []Worker {
	out := make([]Worker, len(order))
	for i, id := range order {
		out[i] = Worker{ID: id, Purpose: "conference", Load: loads[id], MaxLoad: 1}
	}
	return out
}

// picks runs s over successive candidate sets and returns the picked ids ("-" = refused).
func picks(s strategy, rounds ...[]Worker) []string {
	var out []string
	for _, cands := range rounds {
		w, ok := s.pick(cands)
		if !ok {
			out = append(out, "-")
			continue
		}
		out = append(out, w.ID)
	}
	return out
}

func repeat(n int, ws []Worker) [][]Worker {
	out := make([][]Worker, n)
	for i := range out {
		out[i] = ws
	}
	return out
}

func TestClusterStrategies(t *testing.T) {
	abc := workers(map[string]float64{"a": 0.5, "b": 0.2, "c": 0.7}, "a", "b", "c")
	tie := workers(map[string]float64{"a": 0.3, "b": 0.3, "c": 0.3}, "a", "b", "c")
	full := workers(map[string]float64{"a": 1.0, "b": 1.2}, "a", "b")
	ac := workers(map[string]float64{"a": 0.5, "c": 0.7}, "a", "c")
	bc := workers(map[string]float64{"b": 0.2, "c": 0.7}, "b", "c")
	// Spare capacity 60 : 20 : 20 gives a 3:1:1 interleaved pattern.
	weighted := workers(map[string]float64{"a": 0.4, "b": 0.8, "c": 0.8}, "a", "b", "c")
	tests := []struct {
		name     string
		strategy string
		rounds   [][]Worker
		want     []string
	}{
		{"least-used picks lowest load", LeastUsed, [][]Worker{abc}, []string{"b"}},
		{"least-used tie keeps first", LeastUsed, [][]Worker{tie}, []string{"a"}},
		{"least-used refuses loads >= 1", LeastUsed, [][]Worker{full}, []string{"-"}},
		{"most-used picks highest load", MostUsed, [][]Worker{abc}, []string{"c"}},
		{"most-used tie takes last", MostUsed, [][]Worker{tie}, []string{"c"}},
		{"last-used sticks", LastUsed, repeat(3, abc), []string{"a", "a", "a"}},
		{"last-used moves when gone", LastUsed, [][]Worker{abc, bc, abc}, []string{"a", "b", "b"}},
		{"round-robin cycles", RoundRobin, repeat(4, abc), []string{"a", "b", "c", "a"}},
		{"round-robin restarts when last gone", RoundRobin, [][]Worker{abc, abc, ac, abc}, []string{"a", "b", "a", "b"}},
		{"weight-robin equal weights rotate", WeightRobin, repeat(3, tie), []string{"a", "b", "c"}},
		{"weight-robin smooth 3:1:1", WeightRobin, repeat(5, weighted), []string{"a", "b", "a", "c", "a"}},
		{"weight-robin all full picks first", WeightRobin, [][]Worker{full}, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := picks(newStrategy(tt.strategy), tt.rounds...)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("picks = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClusterStrategyRandomlyPick(t *testing.T) {
	abc := workers(nil, "a", "b", "c")
	for _, name := range []string{RandomlyPick, "no-such-strategy", ""} {
		t.Run(name, func(t *testing.T) {
			s := newStrategy(name)
			if _, ok := s.(randomlyPick); !ok {
				t.Fatalf("newStrategy(%q) = %T, want randomlyPick", name, s)
			}
			seen := map[string]int{}
			for range 300 {
				w, ok := s.pick(abc)
				if !ok {
					t.Fatal("randomly-pick refused")
				}
				seen[w.ID]++
			}
			if len(seen) != 3 {
				t.Fatalf("picked %v, want all three workers", seen)
			}
		})
	}
}

func TestClusterWeightRobinProportions(t *testing.T) {
	ws := workers(map[string]float64{"a": 0.0, "b": 0.5, "c": 0.75}, "a", "b", "c")
	s := newStrategy(WeightRobin)
	count := map[string]int{}
	for range 700 {
		w, _ := s.pick(ws)
		count[w.ID]++
	}
	// Weights 100 : 50 : 25 over 700 picks.
	want := map[string]int{"a": 400, "b": 200, "c": 100}
	for id, n := range want {
		if count[id] != n {
			t.Fatalf("counts = %v, want %v", count, want)
		}
	}
	// State of workers that left is dropped.
	s.pick(ws[:1])
	if n := len(s.(*weightRobin).current); n != 1 {
		t.Fatalf("weight-robin keeps state of %d workers, want 1", n)
	}
}

func TestClusterStrategyNames(t *testing.T) {
	for purpose, name := range DefaultStrategies() {
		if !IsStrategy(name) {
			t.Errorf("default strategy %q of %s is unknown", name, purpose)
		}
	}
	if IsStrategy("least-prior") {
		t.Error("least-prior is not an OWT strategy")
	}
}
