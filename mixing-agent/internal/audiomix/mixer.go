// Package audiomix mixes the decoded audio of a view's inputs: 48 kHz interleaved int16 PCM in
// 20 ms frames. Each input has a small jitter queue filled by its decoder goroutine; the mixer
// clock takes one frame from every queue, sums them through a soft limiter and, with voice
// activity detection on, tracks the loudest input with hysteresis (OWT's activeInput).
package audiomix

import (
	"math"
	"sync"
)

// Audio format and queue sizes.
const (
	SampleRate   = 48000
	FrameSamples = SampleRate / 50 // samples per channel in a 20 ms frame
	MaxChannels  = 8
	QueueFrames  = 5 // frames an input may queue before its oldest samples are dropped
	// TrimWindow is the number of mixer ticks (1 s) over which a standing queue is measured:
	// when an input kept at least half a frame queued through a whole window (a startup burst
	// or a late tick left it behind), the excess beyond a quarter frame is dropped, so the
	// mix does not keep that latency for good.
	TrimWindow      = 50
	limitCeiling    = 0.9 // soft-clip knee, as a fraction of full scale
	releasePerFrame = 0.05
)

// Mixer mixes its inputs' frames. Push and Remove may be called from any goroutine, Mix from
// the mixer clock's goroutine.
type Mixer struct {
	channels int
	frame    int // interleaved samples per frame

	mu     sync.Mutex
	inputs map[string]*input
	order  []string // input ids in first-push order, for deterministic iteration
	ticks  int      // Mix calls, for the trim window

	// Owned by the Mix caller.
	acc  []int32
	gain float64
	vad  *detector
}

// input is one stream's jitter queue: a ring of interleaved samples.
type input struct {
	ring       []int16
	head, size int
	standing   int // the smallest size left after a pop in the current trim window
}

// New returns a mixer of channels-channel audio (clamped to 1…MaxChannels) that detects the
// active speaker when vad is true.
func New(channels int, vad bool) *Mixer {
	channels = min(max(channels, 1), MaxChannels)
	m := &Mixer{
		channels: channels,
		frame:    FrameSamples * channels,
		inputs:   map[string]*input{},
		acc:      make([]int32, FrameSamples*channels),
		gain:     1,
	}
	if vad {
		m.vad = newDetector()
	}
	return m
}

// FrameLen returns the number of interleaved samples of one 20 ms frame.
func (m *Mixer) FrameLen() int { return m.frame }

// Push queues decoded samples of one input (normally one 20 ms frame; any length is accepted
// and a trailing partial sample group is dropped). When the queue would exceed QueueFrames
// frames the oldest samples are dropped, bounding latency after a burst. An empty stream id
// is ignored.
func (m *Mixer) Push(stream string, pcm []int16) {
	if stream == "" {
		return
	}
	pcm = pcm[:len(pcm)-len(pcm)%m.channels]
	m.mu.Lock()
	defer m.mu.Unlock()
	in := m.inputs[stream]
	if in == nil {
		in = &input{ring: make([]int16, QueueFrames*m.frame), standing: QueueFrames * m.frame}
		m.inputs[stream] = in
		m.order = append(m.order, stream)
	}
	in.push(pcm)
}

// push appends pcm, dropping the oldest samples on overflow.
func (in *input) push(pcm []int16) {
	capacity := len(in.ring)
	if len(pcm) > capacity {
		pcm = pcm[len(pcm)-capacity:]
	}
	if drop := in.size + len(pcm) - capacity; drop > 0 {
		in.head = (in.head + drop) % capacity
		in.size -= drop
	}
	tail := (in.head + in.size) % capacity
	n := copy(in.ring[tail:], pcm)
	copy(in.ring, pcm[n:])
	in.size += len(pcm)
}

// pop adds up to len(acc) queued samples to acc and returns their energy (sum of squares) and
// how many there were.
func (in *input) pop(acc []int32) (energy float64, n int) {
	n = min(len(acc), in.size)
	capacity := len(in.ring)
	for i := range n {
		s := in.ring[(in.head+i)%capacity]
		acc[i] += int32(s)
		energy += float64(s) * float64(s)
	}
	in.head = (in.head + n) % capacity
	in.size -= n
	return energy, n
}

// trim drops the queue's standing excess (see TrimWindow) and starts a new window.
func (in *input) trim(frame, channels int) {
	if excess := in.standing - frame/4; in.standing >= frame/2 && excess > 0 {
		excess -= excess % channels
		in.head = (in.head + excess) % len(in.ring)
		in.size -= excess
	}
	in.standing = len(in.ring)
}

// Remove forgets an input and its queued samples.
func (m *Mixer) Remove(stream string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.inputs[stream]; !ok {
		return
	}
	delete(m.inputs, stream)
	for i, s := range m.order {
		if s == stream {
			m.order = append(m.order[:i], m.order[i+1:]...)
			break
		}
	}
}

// Mix writes the next frame of the mix into out (FrameLen samples; a shorter out receives the
// frame's start, a longer one is padded with silence). Every input contributes its next queued
// frame (silence when it has none). The sum goes through a limiter: a gain that drops at once
// to keep the frame's peak below full scale and recovers over about 400 ms, then a soft knee,
// so loud mixes are compressed instead of wrapping or clipping hard. With VAD it returns the
// active input ("" until one input speaks) and whether it changed with this frame.
func (m *Mixer) Mix(out []int16) (active string, changed bool) {
	acc := m.acc
	clear(acc)
	m.mu.Lock()
	if m.vad != nil {
		m.vad.begin()
	}
	m.ticks++
	trim := m.ticks%TrimWindow == 0
	for _, id := range m.order {
		in := m.inputs[id]
		energy, _ := in.pop(acc)
		if m.vad != nil {
			m.vad.observe(id, energy, m.frame)
		}
		in.standing = min(in.standing, in.size)
		if trim {
			in.trim(m.frame, m.channels)
		}
	}
	m.mu.Unlock()
	m.limit(acc, out)
	if m.vad == nil {
		return "", false
	}
	return m.vad.end()
}

// limit applies the limiter to acc and writes the result to out.
func (m *Mixer) limit(acc []int32, out []int16) {
	var peak int32
	for _, v := range acc {
		peak = max(peak, v, -v)
	}
	target := 1.0
	if ceiling := limitCeiling * math.MaxInt16; float64(peak) > ceiling {
		target = ceiling / float64(peak)
	}
	from := m.gain
	to := min(target, from+(1-from)*releasePerFrame)
	if target < from {
		to = target
	}
	m.gain = to
	n := min(len(out), len(acc))
	step := (to - from) / float64(max(n, 1))
	g := from
	for i := range n {
		g += step
		out[i] = softClip(float64(acc[i]) * g)
	}
	clear(out[n:])
}

// softClip maps v to int16 linearly up to the knee and compresses the rest smoothly towards
// full scale, so that the output never wraps.
func softClip(v float64) int16 {
	const knee = limitCeiling * math.MaxInt16
	const room = math.MaxInt16 - knee
	a := math.Abs(v)
	if a > knee {
		a = knee + room*math.Tanh((a-knee)/room)
	}
	return int16(math.Copysign(math.Min(a, math.MaxInt16), v))
}
