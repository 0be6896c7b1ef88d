package audiomix

import "math"

// Voice activity parameters.
const (
	// SpeechThreshold is the smoothed level (dBov) an input must exceed to become active.
	SpeechThreshold = -45.0
	// SwitchMargin is how much louder (dB) another input must be to take over.
	SwitchMargin = 6.0
	// SwitchFrames is how many consecutive 20 ms frames (300 ms) the margin must hold.
	SwitchFrames = 15
	silenceDB    = -127.0 // level of a digital-silence frame
	smoothing    = 0.3    // weight of the newest frame in the smoothed level
)

// detector tracks the smoothed level of every input and the active one.
type detector struct {
	levels    map[string]float64
	seen      map[string]bool // inputs observed in the current frame
	active    string
	candidate string
	count     int // consecutive frames candidate has beaten active by the margin
}

// newDetector returns a detector with no active input.
func newDetector() *detector {
	return &detector{levels: map[string]float64{}, seen: map[string]bool{}}
}

// begin starts a frame.
func (d *detector) begin() { clear(d.seen) }

// observe records one input's frame: energy is the sum of squares of its n samples (n is the
// frame length; missing samples count as silence).
func (d *detector) observe(id string, energy float64, n int) {
	db := silenceDB
	if energy > 0 {
		db = max(10*math.Log10(energy/float64(n)/(32768*32768)), silenceDB)
	}
	prev, ok := d.levels[id]
	if !ok {
		prev = silenceDB
	}
	d.levels[id] = prev + smoothing*(db-prev)
	d.seen[id] = true
}

// end forgets inputs not observed (removed ones) and updates the active input.
func (d *detector) end() (active string, changed bool) {
	for id := range d.levels {
		if !d.seen[id] {
			delete(d.levels, id)
		}
	}
	before := d.active
	if _, ok := d.levels[d.active]; !ok {
		d.active, d.candidate, d.count = "", "", 0
	}
	loudest, level := d.loudest()
	switch {
	case loudest == "" || level <= SpeechThreshold:
		d.candidate, d.count = "", 0
	case d.active == "":
		d.active, d.candidate, d.count = loudest, "", 0
	case loudest == d.active || level < d.levels[d.active]+SwitchMargin:
		d.candidate, d.count = "", 0
	default:
		if loudest != d.candidate {
			d.candidate, d.count = loudest, 0
		}
		if d.count++; d.count >= SwitchFrames {
			d.active, d.candidate, d.count = loudest, "", 0
		}
	}
	return d.active, d.active != before
}

// loudest returns the input with the highest smoothed level (ties: the smallest id, so that the
// result does not depend on map order).
func (d *detector) loudest() (string, float64) {
	best, level := "", math.Inf(-1)
	for id, l := range d.levels {
		if l > level || l == level && id < best {
			best, level = id, l
		}
	}
	return best, level
}
