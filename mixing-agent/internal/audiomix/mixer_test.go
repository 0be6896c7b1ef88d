package audiomix

import (
	"math"
	"sync"
	"testing"
)

// sine returns frame f (0-based) of a stereo sine at hz with the given peak amplitude.
func sine(hz, amp float64, f int) []int16 {
	out := make([]int16, 2*FrameSamples)
	for i := range FrameSamples {
		t := float64(f*FrameSamples+i) / SampleRate
		v := int16(amp * math.Sin(2*math.Pi*hz*t))
		out[2*i], out[2*i+1] = v, v
	}
	return out
}

// goertzel returns the amplitude of the hz component of the left channel of pcm.
func goertzel(pcm []int16, hz float64) float64 {
	n := len(pcm) / 2
	w := 2 * math.Pi * hz / SampleRate
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for i := range n {
		s := float64(pcm[2*i]) + coeff*s1 - s2
		s1, s2 = s, s1
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * math.Sqrt(power) / float64(n)
}

func TestAudioMixContainsBothInputs(t *testing.T) {
	m := New(2, false)
	out := make([]int16, m.FrameLen())
	var all []int16
	for f := range 10 {
		m.Push("a", sine(500, 8000, f))
		m.Push("b", sine(1500, 4000, f))
		if active, changed := m.Mix(out); active != "" || changed {
			t.Fatalf("VAD off: active %q changed %v", active, changed)
		}
		all = append(all, out...)
	}
	a, b, other := goertzel(all, 500), goertzel(all, 1500), goertzel(all, 1000)
	t.Logf("Goertzel amplitudes: 500 Hz %.0f, 1500 Hz %.0f, 1000 Hz %.0f", a, b, other)
	if math.Abs(a-8000) > 200 || math.Abs(b-4000) > 200 || other > 100 {
		t.Fatalf("mix amplitudes 500 Hz %.0f (want 8000), 1500 Hz %.0f (want 4000), 1000 Hz %.0f (want ≈0)", a, b, other)
	}
}

func TestAudioMixSilenceAndJitter(t *testing.T) {
	m := New(2, false)
	out := make([]int16, m.FrameLen())
	m.Mix(out)
	for _, v := range out {
		if v != 0 {
			t.Fatal("mix of no input is not silent")
		}
	}
	// Eight frames pushed at once: the queue keeps the newest five.
	for f := range 8 {
		m.Push("a", sine(500, 1000, f))
	}
	for f := 3; f < 8; f++ {
		m.Mix(out)
		if want := sine(500, 1000, f); out[100] != want[100] || out[1001] != want[1001] {
			t.Fatalf("frame %d: got samples %d,%d, want %d,%d", f, out[100], out[1001], want[100], want[1001])
		}
	}
	m.Mix(out)
	if out[100] != 0 {
		t.Fatal("an input with an empty queue does not contribute silence")
	}
	// Odd lengths and mono: a trailing half sample is dropped, partial frames are mixed.
	m.Push("a", []int16{1000, 1000, 7})
	m.Mix(out)
	if out[0] != 1000 || out[1] != 1000 || out[2] != 0 {
		t.Fatalf("partial frame: %v", out[:3])
	}
	mono := New(1, false)
	if mono.FrameLen() != FrameSamples || New(99, false).FrameLen() != MaxChannels*FrameSamples {
		t.Fatal("channel clamping")
	}
	mono.Push("", []int16{5})
	short := make([]int16, 10)
	long := make([]int16, 2000)
	long[1999] = 9
	mono.Mix(short)
	mono.Mix(long)
	if long[1999] != 0 {
		t.Fatal("a longer output is not padded with silence")
	}
}

func TestAudioMixSaturationDoesNotWrap(t *testing.T) {
	m := New(2, false)
	out := make([]int16, m.FrameLen())
	var peak int16
	for f := range 50 {
		for _, id := range []string{"a", "b", "c"} {
			m.Push(id, sine(440, 30000, f))
		}
		m.Mix(out)
		ref := sine(440, 30000, f)
		for i, v := range out {
			if ref[i] > 1000 && v <= 0 || ref[i] < -1000 && v >= 0 {
				t.Fatalf("frame %d sample %d: input %d, mix %d: the sum wrapped", f, i, ref[i], v)
			}
			peak = max(peak, v, -v)
		}
	}
	t.Logf("three full-scale sines: output peak %d, limiter gain %.3f", peak, m.gain)
	if m.gain >= 0.5 {
		t.Fatalf("limiter gain %.3f, want a reduction for a 3x overload", m.gain)
	}
	// Back to a quiet input, the gain recovers towards unity.
	for f := range 200 {
		m.Push("a", sine(440, 1000, f))
		m.Mix(out)
	}
	if m.gain < 0.99 {
		t.Fatalf("gain %.3f after 4 s of quiet input, want ≈1", m.gain)
	}
}

// feeder pushes frames of per-input amplitudes (0 = silence) and mixes, returning the active
// input after the last frame and how many times it changed.
type feeder struct {
	m   *Mixer
	f   int
	out []int16
}

func (fd *feeder) run(frames int, amps map[string]float64) (active string, changes int) {
	for range frames {
		for id, a := range amps {
			fd.m.Push(id, sine(300, a, fd.f))
		}
		var changed bool
		active, changed = fd.m.Mix(fd.out)
		if changed {
			changes++
		}
		fd.f++
	}
	return active, changes
}

func TestAudioVADHysteresis(t *testing.T) {
	fd := &feeder{m: New(2, true), out: make([]int16, 2*FrameSamples)}
	if active, _ := fd.run(20, map[string]float64{"a": 30, "b": 20}); active != "" {
		t.Fatalf("inputs below the speech threshold made %q active", active)
	}
	if active, changes := fd.run(10, map[string]float64{"a": 3000, "b": 300}); active != "a" || changes != 1 {
		t.Fatalf("a speaks: active %q after %d changes", active, changes)
	}
	// A brief 100 ms peak of b does not take over.
	if active, changes := fd.run(5, map[string]float64{"a": 3000, "b": 20000}); active != "a" || changes != 0 {
		t.Fatalf("brief peak of b: active %q, %d changes", active, changes)
	}
	if active, _ := fd.run(10, map[string]float64{"a": 3000, "b": 300}); active != "a" {
		t.Fatalf("after the peak: active %q", active)
	}
	// b sustains a louder voice: it takes over after the hysteresis window, not before.
	switchAt := -1
	for i := range 40 {
		if active, _ := fd.run(1, map[string]float64{"a": 3000, "b": 20000}); active == "b" && switchAt < 0 {
			switchAt = i
		}
	}
	t.Logf("b became active after %d frames (%d ms) of louder speech", switchAt+1, (switchAt+1)*20)
	if switchAt+1 < SwitchFrames || switchAt < 0 {
		t.Fatalf("b became active after %d frames, want ≥ %d", switchAt+1, SwitchFrames)
	}
	// Similar levels (within the margin) do not flip.
	if active, changes := fd.run(50, map[string]float64{"a": 20000, "b": 16000}); active != "b" || changes != 0 {
		t.Fatalf("similar levels: active %q, %d changes", active, changes)
	}
}

func TestAudioVADRemoveActive(t *testing.T) {
	fd := &feeder{m: New(2, true), out: make([]int16, 2*FrameSamples)}
	if active, _ := fd.run(10, map[string]float64{"a": 8000, "b": 2000}); active != "a" {
		t.Fatalf("active %q, want a", active)
	}
	fd.m.Remove("a")
	fd.m.Remove("nobody")
	if active, changes := fd.run(1, map[string]float64{"b": 2000}); active != "b" || changes != 1 {
		t.Fatalf("after removing a: active %q, %d changes; want b at once", active, changes)
	}
	fd.m.Remove("b")
	if active, changes := fd.run(1, nil); active != "" || changes != 1 {
		t.Fatalf("after removing every input: active %q, %d changes", active, changes)
	}
}

func TestAudioMixConcurrent(t *testing.T) {
	m := New(2, true)
	var wg sync.WaitGroup
	ids := []string{"a", "b", "c", "d"}
	for n, id := range ids {
		wg.Go(func() {
			for f := range 200 {
				m.Push(id, sine(200*float64(n+1), 5000, f))
				if f%50 == 49 {
					m.Remove(id)
				}
			}
		})
	}
	done := make(chan struct{})
	mixed := 0
	go func() {
		defer close(done)
		out := make([]int16, m.FrameLen())
		for range 300 {
			m.Mix(out)
			mixed++
		}
	}()
	wg.Wait()
	<-done
	if mixed != 300 {
		t.Fatalf("mixed %d frames", mixed)
	}
}

func TestAudioMixAllocations(t *testing.T) {
	m := New(2, true)
	out := make([]int16, m.FrameLen())
	frame := sine(440, 5000, 0)
	m.Push("a", frame)
	m.Push("b", frame)
	if allocs := testing.AllocsPerRun(50, func() {
		m.Push("a", frame)
		m.Push("b", frame)
		m.Mix(out)
	}); allocs != 0 {
		t.Fatalf("steady-state Push+Mix allocates %v times", allocs)
	}
}

func BenchmarkAudioMix(b *testing.B) {
	for _, n := range []int{4, 16} {
		b.Run(map[int]string{4: "4inputs", 16: "16inputs"}[n], func(b *testing.B) {
			m := New(2, true)
			out := make([]int16, m.FrameLen())
			frame := sine(440, 5000, 0)
			ids := make([]string, n)
			for i := range ids {
				ids[i] = string(rune('a' + i))
			}
			b.ReportAllocs()
			for b.Loop() {
				for _, id := range ids {
					m.Push(id, frame)
				}
				m.Mix(out)
			}
		})
	}
}

// TestMixerTrimsStandingQueue: a burst that leaves an input three frames ahead of the mixer
// clock is trimmed within two windows, while an input that keeps pace loses nothing.
func TestMixerTrimsStandingQueue(t *testing.T) {
	m := New(2, false)
	frame := make([]int16, m.FrameLen())
	for i := range frame {
		frame[i] = 1000
	}
	out := make([]int16, m.FrameLen())
	for range 3 { // startup burst
		m.Push("late", frame)
	}
	for range 2 * TrimWindow {
		m.Push("late", frame)
		m.Push("steady", frame)
		m.Mix(out)
	}
	m.mu.Lock()
	late, steady := m.inputs["late"].size, m.inputs["steady"].size
	m.mu.Unlock()
	if late > m.FrameLen()/2 {
		t.Errorf("standing queue of %d samples after two windows, want ≤ %d", late, m.FrameLen()/2)
	}
	if steady != 0 {
		t.Errorf("an input keeping pace has %d samples queued, want 0", steady)
	}
	// The steady input still contributes a full frame every tick.
	m.Push("steady", frame)
	m.Mix(out)
	if out[len(out)-1] == 0 {
		t.Error("the steady input lost samples")
	}
}
