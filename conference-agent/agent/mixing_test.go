package agent

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/protocol"
	model "github.com/conclave-rtc/conclave/common/room"
)

// fakeMixingAgent answers mix.* and xcode.* and announces itself as a mixing worker.
type fakeMixingAgent struct {
	id    string
	bus   bus.Bus
	mu    sync.Mutex
	calls map[string][]json.RawMessage
}

func (e *env) mixingAgent() *fakeMixingAgent {
	f := &fakeMixingAgent{id: cluster.NewWorkerID(cluster.PurposeMixing, "test"), bus: e.bus(), calls: map[string][]json.RawMessage{}}
	if _, err := f.bus.Serve(f.id, func(_ context.Context, req bus.Request) (any, error) {
		f.mu.Lock()
		f.calls[req.Method] = append(f.calls[req.Method], req.Body)
		f.mu.Unlock()
		switch req.Method {
		case protocol.MethodMixStart:
			var start protocol.MixStart
			_ = req.Decode(&start)
			return protocol.MixState{Tracks: []protocol.RTCTrack{
				{ID: start.ID + "-a", Type: "audio", Format: protocol.Format{Codec: "opus", SampleRate: 48000, ChannelNum: 2}},
				{ID: start.ID + "-v", Type: "video", Format: protocol.Format{Codec: "vp8"}},
			}, Layout: []protocol.LayoutRegion{}, ActiveInput: "unknown"}, nil
		case protocol.MethodMixInputs:
			return protocol.MixState{Layout: []protocol.LayoutRegion{}}, nil
		}
		return nil, nil
	}); err != nil {
		e.t.Fatal(err)
	}
	ann := cluster.NewAnnouncer(f.bus, cluster.Worker{ID: f.id, Purpose: cluster.PurposeMixing}, 100*time.Millisecond, nil, e.log)
	e.run(ann.Run)
	deadline := time.Now().Add(waitFor)
	for !e.reg.Alive(f.id) {
		if time.Now().After(deadline) {
			e.t.Fatal("fake mixing agent never registered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return f
}

func (f *fakeMixingAgent) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls[method])
}

func TestAgentMixedStreams(t *testing.T) {
	e := newEnv(t, func(r *model.Room) { r.AutoMix = true })
	a, stop := e.startAgent()
	c := client{t: t, bus: e.bus(), agent: a.ID(), roomID: e.roomID}
	p := e.portal("portal-1")

	// No mixing agent: the join does not wait for one, and shows no mixed stream.
	began := time.Now()
	res := e.join(c, "alice", "presenter", "portal-1")
	t.Logf("first join without a mixing agent took %v", time.Since(began))
	if len(res.Room.Streams) != 0 {
		t.Fatalf("streams without a mixing agent: %+v", res.Room.Streams)
	}

	mixer := e.mixingAgent()
	began = time.Now()
	res = e.join(c, "bob", "presenter", "portal-1")
	t.Logf("join that started the mix took %v", time.Since(began))
	mixed := e.roomID + "-common"
	if len(res.Room.Streams) != 1 || res.Room.Streams[0].ID != mixed || res.Room.Streams[0].Type != "mixed" {
		t.Fatalf("streams with a mixing agent: %+v", res.Room.Streams)
	}
	n := p.wait(t, "alice", protocol.EventStream, "")
	var add protocol.StreamEvent
	if err := json.Unmarshal(n.Data, &add); err != nil || add.ID != mixed || add.Status != "add" {
		t.Fatalf("stream add to alice: %s", n.Data)
	}

	// Layout events from the mixing agent reach the participants.
	ev := protocol.MixEvent{Agent: mixer.id, ID: mixed, Type: protocol.MixEventActiveInput, ActiveInput: "s1"}
	if err := mixer.bus.Publish(context.Background(), protocol.MixTopic(a.ID()), ev); err != nil {
		t.Fatal(err)
	}
	p.wait(t, "bob", protocol.EventStream, `{"id":"`+mixed+`","status":"update","data":{"field":"activeInput","value":"s1"}}`)

	// REST lists the mixed stream in the v1.0 form.
	var list []json.RawMessage
	c.must(protocol.MethodStreamsList, protocol.RoomRequest{RoomID: e.roomID}, &list)
	if len(list) != 1 {
		t.Fatalf("REST streams %s", list)
	}
	// The agent's end stops the mix.
	stop()
	if got := mixer.count(protocol.MethodMixStop); got != 1 {
		t.Fatalf("%d mix.stop", got)
	}
}
