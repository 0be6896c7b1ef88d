package cluster

import (
	"math/rand/v2"
	"slices"
)

// Strategy names (OWT cluster_manager strategy.js).
const (
	LeastUsed    = "least-used"
	MostUsed     = "most-used"
	LastUsed     = "last-used"
	RoundRobin   = "round-robin"
	RandomlyPick = "randomly-pick"
	WeightRobin  = "weight-robin"
)

// Strategies lists every strategy name a Registry knows.
func Strategies() []string {
	return []string{LeastUsed, MostUsed, LastUsed, RoundRobin, RandomlyPick, WeightRobin}
}

// IsStrategy reports whether name is a known strategy.
func IsStrategy(name string) bool { return slices.Contains(Strategies(), name) }

// DefaultStrategies returns OWT's per-purpose defaults (cluster_manager.toml); purposes not
// listed use DefaultStrategy.
func DefaultStrategies() map[string]string {
	return map[string]string{
		PurposePortal:     LastUsed,
		PurposeConference: LastUsed,
		PurposeWebRTC:     LastUsed,
		PurposeStreaming:  RoundRobin,
		PurposeRecording:  RandomlyPick,
		"sip":             RoundRobin,
		"audio":           MostUsed,
		"video":           LeastUsed,
		"analytics":       LeastUsed,
	}
}

// DefaultStrategy is used for purposes without a configured or default strategy.
const DefaultStrategy = RoundRobin

// strategy picks one worker among non-empty candidates, which come in the order the
// registry first heard of them (OWT: insertion order of its workers object). ok is false
// when the strategy refuses all of them.
type strategy interface {
	pick(candidates []Worker) (w Worker, ok bool)
}

// newStrategy returns a fresh strategy; an unknown name gives randomly-pick, as in OWT.
func newStrategy(name string) strategy {
	switch name {
	case LeastUsed:
		return leastUsed{}
	case MostUsed:
		return mostUsed{}
	case LastUsed:
		return &lastUsed{}
	case RoundRobin:
		return &roundRobin{}
	case WeightRobin:
		return &weightRobin{current: map[string]float64{}}
	default:
		return randomlyPick{}
	}
}

// leastUsed picks the lowest load below 1.0; the earliest worker wins a tie.
type leastUsed struct{}

func (leastUsed) pick(candidates []Worker) (Worker, bool) {
	best, found := -1, false
	for i, w := range candidates {
		if w.Load < 1.0 && (!found || w.Load < candidates[best].Load) {
			best, found = i, true
		}
	}
	if !found {
		return Worker{}, false
	}
	return candidates[best], true
}

// mostUsed picks the highest load; the latest worker wins a tie (OWT compares with >=).
type mostUsed struct{}

func (mostUsed) pick(candidates []Worker) (Worker, bool) {
	best := 0
	for i, w := range candidates {
		if w.Load >= candidates[best].Load {
			best = i
		}
	}
	return candidates[best], true
}

// lastUsed keeps returning the same worker while it is a candidate, else the first one.
type lastUsed struct{ last string }

func (s *lastUsed) pick(candidates []Worker) (Worker, bool) {
	if i := indexOf(candidates, s.last); i >= 0 {
		return candidates[i], true
	}
	s.last = candidates[0].ID
	return candidates[0], true
}

// roundRobin returns the candidate after the previous pick, wrapping around; if the previous
// pick is no longer a candidate it starts again at the first one.
type roundRobin struct{ last string }

func (s *roundRobin) pick(candidates []Worker) (Worker, bool) {
	next := 0
	if i := indexOf(candidates, s.last); i >= 0 && i+1 < len(candidates) {
		next = i + 1
	}
	s.last = candidates[next].ID
	return candidates[next], true
}

// randomlyPick picks uniformly at random.
type randomlyPick struct{}

func (randomlyPick) pick(candidates []Worker) (Worker, bool) {
	return candidates[rand.IntN(len(candidates))], true
}

// weightRobin is smooth weighted round robin with weight (1-load)*100: every pick adds each
// candidate's weight to its current value, takes the largest and subtracts the total from
// it, so a worker with twice the spare capacity is picked twice as often, interleaved.
type weightRobin struct{ current map[string]float64 }

func (s *weightRobin) pick(candidates []Worker) (Worker, bool) {
	s.forgetGone(candidates)
	total, best := 0.0, 0
	for i, w := range candidates {
		weight := max(0, (1-w.Load)*100)
		s.current[w.ID] += weight
		total += weight
		if s.current[w.ID] > s.current[candidates[best].ID] {
			best = i
		}
	}
	s.current[candidates[best].ID] -= total
	return candidates[best], true
}

// forgetGone drops the state of workers that are no longer candidates, so the map stays
// bounded by the number of live workers.
func (s *weightRobin) forgetGone(candidates []Worker) {
	for id := range s.current {
		if indexOf(candidates, id) < 0 {
			delete(s.current, id)
		}
	}
}

// indexOf returns the position of the worker with id among ws, or -1.
func indexOf(ws []Worker, id string) int {
	if id == "" {
		return -1
	}
	return slices.IndexFunc(ws, func(w Worker) bool { return w.ID == id })
}
