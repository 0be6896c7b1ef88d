package room

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
	model "github.com/conclave-rtc/conclave/common/room"
)

const mixAgent = "mixing-0000@test" // what fakeScheduler picks for the mixing purpose

// mixCall is one recorded call to the fake mixing agents.
type mixCall struct {
	method string
	agent  string
	req    any
}

// fakeMixing is a mixing agent: it records calls, answers mix.start with one audio and one
// video track and a layout with one region per input, and xcode.start with a track named
// after the transcode; fail maps a method to its error.
type fakeMixing struct {
	mu    sync.Mutex
	calls []mixCall
	fail  map[string]error
}

func newFakeMixing() *fakeMixing { return &fakeMixing{fail: map[string]error{}} }

func (f *fakeMixing) record(method, agent string, req any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, mixCall{method, agent, req})
	return f.fail[method]
}

// fluid is the layout the fake answers: region i+1 holds input i.
func fluid(inputs []protocol.MixInput) []protocol.LayoutRegion {
	out := []protocol.LayoutRegion{}
	for i, in := range inputs {
		out = append(out, protocol.LayoutRegion{Stream: in.StreamID, Region: region(string(rune('1' + i)))})
	}
	return out
}

func region(id string) model.Region {
	return model.Region{ID: id, Shape: model.ShapeRectangle, Area: model.Area{Left: "0", Top: "0", Width: "1", Height: "1"}}
}

func (f *fakeMixing) MixStart(_ context.Context, agent string, req protocol.MixStart) (protocol.MixState, error) {
	err := f.record(protocol.MethodMixStart, agent, req)
	return protocol.MixState{Tracks: []protocol.RTCTrack{
		{ID: req.ID + "-a", Type: "audio", Format: protocol.Format{Codec: "opus", SampleRate: 48000, ChannelNum: 2}},
		{ID: req.ID + "-v", Type: "video", Format: protocol.Format{Codec: "vp8"},
			Parameters: &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: 640, Height: 480}, Framerate: 24, KeyFrameInterval: 100}},
	}, Layout: fluid(req.Inputs), ActiveInput: activeUnknown}, err
}

func (f *fakeMixing) MixInputs(_ context.Context, agent string, req protocol.MixInputs) (protocol.MixState, error) {
	return protocol.MixState{Layout: fluid(req.Inputs)}, f.record(protocol.MethodMixInputs, agent, req)
}

func (f *fakeMixing) MixLayout(_ context.Context, agent string, req protocol.MixLayout) (protocol.MixState, error) {
	return protocol.MixState{Layout: req.Layout}, f.record(protocol.MethodMixLayout, agent, req)
}

func (f *fakeMixing) MixRegion(_ context.Context, agent string, req protocol.MixRegion) (protocol.MixState, error) {
	return protocol.MixState{Layout: []protocol.LayoutRegion{{Stream: req.Stream, Region: region(req.Region)}}},
		f.record(protocol.MethodMixRegion, agent, req)
}

func (f *fakeMixing) XcodeStart(_ context.Context, agent string, req protocol.XcodeStart) (protocol.XcodeStarted, error) {
	err := f.record(protocol.MethodXcodeStart, agent, req)
	return protocol.XcodeStarted{Track: protocol.RTCTrack{ID: "xc-" + req.ID, Type: "video", Format: req.Format}}, err
}

func (f *fakeMixing) Stop(agent, method, id string) {
	_ = f.record(method, agent, protocol.SessionStop{ID: id})
}

// byMethod returns the recorded calls of method.
func (f *fakeMixing) byMethod(method string) []mixCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []mixCall
	for _, c := range f.calls {
		if c.method == method {
			out = append(out, c)
		}
	}
	return out
}

// waitCalls waits until n calls of method were made and returns them.
func (f *fakeMixing) waitCalls(t *testing.T, method string, n int) []mixCall {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		calls := f.byMethod(method)
		if len(calls) >= n {
			return calls
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d× %s, want %d", len(calls), method, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// mixHarness is a harness whose room has the fake mixing agent; agent says whether a
// mixing agent is registered.
type mixHarness struct {
	*harness
	mix   *fakeMixing
	agent *atomic.Bool
}

func newMixHarness(t *testing.T, mutate func(*model.Room)) *mixHarness {
	t.Helper()
	m := &mixHarness{mix: newFakeMixing(), agent: &atomic.Bool{}}
	m.agent.Store(true)
	m.harness = newHarnessDeps(t, mutate, func(d *Deps) {
		d.Mixing = m.mix
		d.HasWorker = func(purpose string) bool { return purpose != PurposeMixing || m.agent.Load() }
	})
	return m
}

// inputIDs returns the stream ids of a mix.inputs or mix.start call.
func inputIDs(c mixCall) []string {
	var inputs []protocol.MixInput
	switch req := c.req.(type) {
	case protocol.MixInputs:
		inputs = req.Inputs
	case protocol.MixStart:
		inputs = req.Inputs
	}
	ids := []string{}
	for _, in := range inputs {
		ids = append(ids, in.StreamID)
	}
	return ids
}

// settle waits until the room has no background call in flight.
func (m *mixHarness) settle() {
	deadline := time.Now().Add(5 * time.Second)
	for {
		m.r.mu.Lock()
		busy := false
		for _, x := range m.r.mixes {
			busy = busy || x.syncing || x.starting
		}
		m.r.mu.Unlock()
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			m.t.Fatal("mix calls never settled")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// jsonText marshals v for exact comparisons.
func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
