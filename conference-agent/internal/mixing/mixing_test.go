package mixing

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	model "github.com/conclave-rtc/conclave/common/room"
)

// call is one request the fake mixing agent received.
type call struct {
	method string
	body   json.RawMessage
}

func TestMixingClientCallsAndEvents(t *testing.T) {
	hub := local.NewHub(local.Config{})
	b := local.New(hub)
	defer b.Close()
	got := make(chan call, 16)
	layout := []protocol.LayoutRegion{{Stream: "s1", Region: model.Region{ID: "1", Shape: "rectangle"}}}
	if _, err := b.Serve("mixing-1", func(_ context.Context, req bus.Request) (any, error) {
		got <- call{req.Method, req.Body}
		switch req.Method {
		case protocol.MethodMixStart:
			return protocol.MixState{Tracks: []protocol.RTCTrack{{ID: "v", Type: "video"}}, Layout: layout, ActiveInput: "unknown"}, nil
		case protocol.MethodMixInputs, protocol.MethodMixLayout, protocol.MethodMixRegion:
			return protocol.MixState{Layout: layout}, nil
		case protocol.MethodXcodeStart:
			return nil, errs.Cluster("No encoder for h265")
		}
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	c := New(b, Timeouts{Start: time.Second}, nil)
	bg := context.Background()

	st, err := c.MixStart(bg, "mixing-1", protocol.MixStart{ID: "r-common", View: model.DefaultView()})
	if err != nil || len(st.Tracks) != 1 || st.ActiveInput != "unknown" || st.Layout[0].Stream != "s1" {
		t.Fatalf("mix.start = %+v, %v", st, err)
	}
	if st, err := c.MixInputs(bg, "mixing-1", protocol.MixInputs{ID: "r-common", Inputs: []protocol.MixInput{{StreamID: "s1"}}}); err != nil || len(st.Layout) != 1 {
		t.Fatalf("mix.inputs = %+v, %v", st, err)
	}
	if _, err := c.MixLayout(bg, "mixing-1", protocol.MixLayout{ID: "r-common", Layout: layout}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.MixRegion(bg, "mixing-1", protocol.MixRegion{ID: "r-common", Stream: "s1", Region: "1"}); err != nil {
		t.Fatal(err)
	}
	var e *errs.Error
	if _, err := c.XcodeStart(bg, "mixing-1", protocol.XcodeStart{ID: "sub-video"}); !errors.As(err, &e) || e.Message != "No encoder for h265" {
		t.Fatalf("xcode.start error = %v", err)
	}
	if _, err := c.MixInputs(bg, "nobody", protocol.MixInputs{ID: "x"}); err == nil {
		t.Fatal("a call to a missing agent succeeded")
	}
	wantOrder := []string{protocol.MethodMixStart, protocol.MethodMixInputs, protocol.MethodMixLayout,
		protocol.MethodMixRegion, protocol.MethodXcodeStart}
	for _, m := range wantOrder {
		if c := <-got; c.method != m {
			t.Fatalf("agent got %s, want %s", c.method, m)
		}
	}

	events := make(chan protocol.MixEvent, 1)
	sub, err := Listen(b, "conf-1", nil, func(ev protocol.MixEvent) { events <- ev })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	_ = b.Publish(bg, protocol.MixTopic("conf-1"), map[string]string{"type": "failed"}) // no id: skipped
	_ = b.Publish(bg, protocol.MixTopic("conf-1"), protocol.MixEvent{ID: "r-common", Type: protocol.MixEventActiveInput, ActiveInput: "s1"})
	select {
	case ev := <-events:
		if ev.ID != "r-common" || ev.ActiveInput != "s1" {
			t.Fatalf("event = %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
}
