package room

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/common/protocol"
	model "github.com/conclave-rtc/conclave/common/room"
)

const mixedID = "room1-common"

func TestRoomMixedStreamAtJoin(t *testing.T) {
	h := newMixHarness(t, nil)
	res := h.join("a", "presenter", "p1")
	starts := h.mix.byMethod(protocol.MethodMixStart)
	if len(starts) != 1 || starts[0].agent != mixAgent {
		t.Fatalf("mix.start calls %+v", starts)
	}
	req := starts[0].req.(protocol.MixStart)
	if req.ID != mixedID || req.RoomID != "room1" || req.Controller != "conference-1@test" ||
		req.View.Label != "common" || req.View.Video == nil || len(req.Inputs) != 0 {
		t.Fatalf("mix.start %+v", req)
	}
	if len(res.Room.Streams) != 1 {
		t.Fatalf("login streams %+v", res.Room.Streams)
	}
	s := res.Room.Streams[0]
	if s.ID != mixedID || s.Type != "mixed" || string(s.Info) != `{"label":"common","activeInput":"unknown","layout":[]}` {
		t.Fatalf("mixed stream %s %s %s", s.ID, s.Type, s.Info)
	}
	for _, tr := range s.Media.Tracks {
		if tr.ID != "" || tr.Mid != "" || tr.Source != "mixed" || tr.Status != "active" || tr.Optional == nil {
			t.Fatalf("mixed track %+v", tr)
		}
	}
	video := s.Media.Tracks[1]
	wantOpt := `{"format":[{"codec":"h264","profile":"CB"},{"codec":"h264","profile":"B"},{"codec":"vp9"}],` +
		`"parameters":{"resolution":[{"width":480,"height":360},{"width":426,"height":320},{"width":320,"height":240},` +
		`{"width":213,"height":160},{"width":160,"height":120},{"width":352,"height":288}],"framerate":[6,12,15],` +
		`"bitrate":["x0.8","x0.6","x0.4","x0.2"],"keyFrameInterval":[100,30,5,2,1]}}`
	if got := jsonText(t, video.Optional); got != wantOpt {
		t.Fatalf("mixed video optional\n%s\nwant\n%s", got, wantOpt)
	}
	// Later joins see the same stream without a second mix.start.
	res = h.join("b", "presenter", "p1")
	if len(res.Room.Streams) != 1 || len(h.mix.byMethod(protocol.MethodMixStart)) != 1 {
		t.Fatalf("second join: %d streams, %d starts", len(res.Room.Streams), len(h.mix.byMethod(protocol.MethodMixStart)))
	}
	// REST: v1.0 form, type mixed.
	list, err := h.r.Streams()
	if err != nil || len(list) != 1 {
		t.Fatalf("streams %s %v", list, err)
	}
	rest := decodeJSON(t, list[0])
	if rest["type"] != "mixed" || rest["id"] != mixedID {
		t.Fatalf("REST stream %s", list[0])
	}
	if _, err := h.r.Stream(mixedID); err != nil {
		t.Fatal(err)
	}
	// The room's end stops the mix.
	h.r.DropAll()
	stops := h.mix.byMethod(protocol.MethodMixStop)
	if len(stops) != 1 || stops[0].agent != mixAgent || stops[0].req.(protocol.SessionStop).ID != mixedID {
		t.Fatalf("mix.stop %+v", stops)
	}
}

func TestRoomMixedStreamWithoutMixingAgent(t *testing.T) {
	h := newMixHarness(t, nil)
	h.agent.Store(false)
	res := h.join("a", "presenter", "p1")
	if len(res.Room.Streams) != 0 || len(h.mix.calls) != 0 {
		t.Fatalf("no agent: streams %+v calls %+v", res.Room.Streams, h.mix.calls)
	}
	h.notes.take()
	h.agent.Store(true) // a mixing agent registered: the next join starts the mix
	res = h.join("b", "presenter", "p1")
	if len(res.Room.Streams) != 1 || res.Room.Streams[0].ID != mixedID {
		t.Fatalf("second join streams %+v", res.Room.Streams)
	}
	adds := find(h.notes.take(), "a", protocol.EventStream)
	if len(adds) != 1 || decodeJSON(t, adds[0].data)["status"] != "add" || decodeJSON(t, adds[0].data)["id"] != mixedID {
		t.Fatalf("stream add to the first participant: %+v", adds)
	}
	// A room whose only participant joined before the mixing agent registered gets its
	// mixed stream when the agent's periodic retry sees the agent, without another join.
	late := newMixHarness(t, nil)
	late.agent.Store(false)
	late.join("a", "presenter", "p1")
	late.notes.take()
	late.r.RetryMixes(context.Background()) // still no agent: nothing
	if len(late.mix.calls) != 0 {
		t.Fatalf("retry without an agent started %+v", late.mix.calls)
	}
	late.agent.Store(true)
	late.r.RetryMixes(context.Background())
	adds = find(late.notes.take(), "a", protocol.EventStream)
	if len(adds) != 1 || decodeJSON(t, adds[0].data)["id"] != mixedID {
		t.Fatalf("retry: stream add to the waiting participant: %+v", adds)
	}
	// Without a mixing client nothing is started and nothing is optional (no transcoding).
	plain := newHarness(t, nil)
	if res := plain.join("a", "presenter", "p1"); len(res.Room.Streams) != 0 {
		t.Fatalf("plain room streams %+v", res.Room.Streams)
	}
}

// ctl sends a stream-control request.
func (m *mixHarness) ctl(who, id, op, data string) (any, error) {
	return m.r.StreamControl(context.Background(), protocol.ControlRequest{
		ParticipantID: who, ID: id, Operation: op, Data: json.RawMessage(data)})
}

// patch sends one REST stream update.
func (m *mixHarness) patch(id, op, path, value string) (json.RawMessage, error) {
	return m.r.UpdateStream(context.Background(), id, []protocol.PatchOp{{Op: op, Path: path, Value: json.RawMessage(value)}})
}

// inputHistory returns the input ids of every mix.inputs call.
func (m *mixHarness) inputHistory() []string {
	var out []string
	for _, c := range m.mix.byMethod(protocol.MethodMixInputs) {
		out = append(out, strings.Join(inputIDs(c), ","))
	}
	return out
}

func TestRoomMixInputs(t *testing.T) {
	h := newMixHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.join("b", "presenter", "p1")
	h.publish("a", "s1", "t1")
	h.publish("b", "s2", "t2")
	h.publish("a", "s3", "t3")
	step := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		h.settle()
	}
	_, err := h.ctl("b", "s2", "mix", `"common"`)
	step(err)
	_, err = h.ctl("a", "s1", "mix", `"common"`)
	step(err)
	_, err = h.patch("s3", "add", "/info/inViews", `"common"`)
	step(err)
	want := []string{"s2", "s2,s1", "s2,s1,s3"}
	if got := h.inputHistory(); !slices.Equal(got, want) {
		t.Fatalf("mix.inputs %q, want %q", got, want)
	}
	last := h.mix.byMethod(protocol.MethodMixInputs)[2]
	in := last.req.(protocol.MixInputs)
	if last.agent != mixAgent || in.ID != mixedID ||
		in.Inputs[0].Audio.Source != (protocol.TrackRef{Agent: testAgent, TrackID: "t2-0"}) ||
		in.Inputs[0].Video.Source != (protocol.TrackRef{Agent: testAgent, TrackID: "t2-1"}) ||
		in.Inputs[0].Video.Format.Codec != "vp8" || in.Inputs[0].Video.Parameters.Resolution.Width != 640 {
		t.Fatalf("mix.inputs %+v", in)
	}
	_, err = h.ctl("a", "s1", "unmix", `"common"`)
	step(err)
	step(h.r.Leave("b")) // s2 goes with its owner
	_, err = h.ctl("a", "s1", "mix", `"nope"`)
	wantErr(t, err, "Invalid view label: nope")
	want = append(want, "s2,s3", "s3")
	if got := h.inputHistory(); !slices.Equal(got, want) {
		t.Fatalf("mix.inputs %q, want %q", got, want)
	}
	// The layout the agent answered is the mixed stream's.
	s, err := h.r.Stream(mixedID)
	if err != nil || !strings.Contains(string(s), `"layout":[{"stream":"s3","region":{"id":"1"`) {
		t.Fatalf("mixed stream after inputs: %s %v", s, err)
	}
}

func TestRoomMixEvents(t *testing.T) {
	h := newMixHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.join("b", "presenter", "p2")
	h.notes.take()
	layout := []protocol.LayoutRegion{{Stream: "s1", Region: region("1")}, {Region: region("2")}}
	if !h.r.HandleMix(protocol.MixEvent{Agent: mixAgent, ID: mixedID, Type: protocol.MixEventLayout, Layout: layout}) {
		t.Fatal("layout event not taken")
	}
	if !h.r.HandleMix(protocol.MixEvent{Agent: mixAgent, ID: mixedID, Type: protocol.MixEventLayout, Layout: layout}) {
		t.Fatal("repeated layout event not taken")
	}
	if !h.r.HandleMix(protocol.MixEvent{Agent: mixAgent, ID: mixedID, Type: protocol.MixEventActiveInput, ActiveInput: "s1"}) {
		t.Fatal("activeInput event not taken")
	}
	if h.r.HandleMix(protocol.MixEvent{Agent: "mixing-9@test", ID: mixedID, Type: protocol.MixEventLayout}) ||
		h.r.HandleMix(protocol.MixEvent{Agent: mixAgent, ID: "other", Type: protocol.MixEventFailed}) {
		t.Fatal("foreign events taken")
	}
	wantNotes := []string{
		`{"id":"room1-common","status":"update","data":{"field":"video.layout","value":[{"stream":"s1","region":{"id":"1","shape":"rectangle","area":{"left":"0","top":"0","width":"1","height":"1"}}},{"region":{"id":"2","shape":"rectangle","area":{"left":"0","top":"0","width":"1","height":"1"}}}]}}`,
		`{"id":"room1-common","status":"update","data":{"field":"activeInput","value":"s1"}}`,
	}
	for _, who := range []string{"a", "b"} {
		var got []string
		for _, n := range find(h.notes.notices, who, protocol.EventStream) {
			got = append(got, string(n.data))
		}
		if !slices.Equal(got, wantNotes) {
			t.Fatalf("notices to %s:\n%s\nwant\n%s", who, strings.Join(got, "\n"), strings.Join(wantNotes, "\n"))
		}
	}
	res := h.join("c", "presenter", "p1")
	if !strings.HasPrefix(string(res.Room.Streams[0].Info), `{"label":"common","activeInput":"s1","layout":[{"stream":"s1"`) {
		t.Fatalf("info after events %s", res.Room.Streams[0].Info)
	}
}

func TestRoomMixLayoutAndRegions(t *testing.T) {
	h := newMixHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.join("b", "viewer", "p1")
	h.publish("a", "s1", "t1")
	h.publish("a", "s2", "t2")
	h.publish("a", "s3", "t3")
	for _, id := range []string{"s1", "s2"} {
		if _, err := h.ctl("a", id, "mix", `"common"`); err != nil {
			t.Fatal(err)
		}
		h.settle()
	}
	got, err := h.ctl("a", "s2", "get-region", `"common"`)
	if err != nil || jsonText(t, got) != `{"region":"2"}` {
		t.Fatalf("get-region = %v %v", got, err)
	}
	if _, err := h.ctl("a", "s1", "set-region", `{"view":"common","region":"2"}`); err != nil {
		t.Fatal(err)
	}
	regions := h.mix.byMethod(protocol.MethodMixRegion)
	if len(regions) != 1 || regions[0].req.(protocol.MixRegion) != (protocol.MixRegion{ID: mixedID, Stream: "s1", Region: "2"}) {
		t.Fatalf("mix.region %+v", regions)
	}
	// The fake answers a one-region layout: s1 in "2".
	got, err = h.ctl("a", "s1", "get-region", `"common"`)
	if err != nil || jsonText(t, got) != `{"region":"2"}` {
		t.Fatalf("get-region after set = %v %v", got, err)
	}
	errCases := []struct{ who, id, op, data, want string }{
		{"a", "s1", "set-region", `{"view":"common","region":"9"}`, "Invalid region: 9"},
		{"a", "s1", "set-region", `{"view":"nope","region":"2"}`, "Invalid view label: nope"},
		{"a", "s3", "set-region", `{"view":"common","region":"2"}`, "Stream is not in view: common"},
		{"a", "s3", "get-region", `"common"`, "Stream is not in view: common"},
		{"a", "s1", "get-region", `"nope"`, "Invalid view label: nope"},
		{"b", "s1", "get-region", `"common"`, "unauthorized"},
		{"a", mixedID, "pause", `"av"`, "Stream is Mixed"},
	}
	for _, c := range errCases {
		_, err := h.ctl(c.who, c.id, c.op, c.data)
		wantErr(t, err, c.want)
	}

	// REST: a whole layout (mix.layout), then a region's stream (mix.region).
	value := `[{"stream":"s2","region":{"id":"A","shape":"rectangle","area":{"left":"0","top":"0","width":"1/2","height":"1"}}},` +
		`{"region":{"id":"B","area":{"left":"1/2","top":0,"width":"1/2","height":"1"}}}]`
	out, err := h.patch(mixedID, "replace", "/info/layout", value)
	if err != nil {
		t.Fatal(err)
	}
	layouts := h.mix.byMethod(protocol.MethodMixLayout)
	if len(layouts) != 1 || jsonText(t, layouts[0].req.(protocol.MixLayout).Layout) !=
		`[{"stream":"s2","region":{"id":"A","shape":"rectangle","area":{"left":"0","top":"0","width":"1/2","height":"1"}}},`+
			`{"region":{"id":"B","shape":"rectangle","area":{"left":"1/2","top":"0","width":"1/2","height":"1"}}}]` {
		t.Fatalf("mix.layout %+v", layouts)
	}
	if !strings.Contains(string(out), `"layout":[{"stream":"s2","region":{"id":"A"`) {
		t.Fatalf("PATCH answer %s", out)
	}
	if _, err := h.patch(mixedID, "replace", "/info/layout/1/stream", `"s1"`); err != nil {
		t.Fatal(err)
	}
	regions = h.mix.byMethod(protocol.MethodMixRegion)
	if len(regions) != 2 || regions[1].req.(protocol.MixRegion) != (protocol.MixRegion{ID: mixedID, Stream: "s1", Region: "B"}) {
		t.Fatalf("mix.region from PATCH %+v", regions)
	}
	patchErrs := []struct {
		id, op, path, value string
		status, code        int
		msg                 string
	}{
		{mixedID, "replace", "/info/layout", `[{"region":{"id":"A","area":{"left":"0","top":"0","width":"1","height":"1"}}},{"stream":"s1","region":{"id":"B","area":{"left":"0","top":"0","width":"1","height":"1"}}}]`, 400, 1301, "Invalid layout"},
		{mixedID, "replace", "/info/layout", `[{"stream":"s1","region":{"id":"A","area":{"left":"0","top":"0","width":"2","height":"1"}}}]`, 400, 1301, "Invalid layout"},
		{mixedID, "replace", "/info/layout", `[{"stream":"s3","region":{"id":"A","area":{"left":"0","top":"0","width":"1","height":"1"}}}]`, 400, 1301, "Layout stream is not an input of the view: s3"},
		{mixedID, "replace", "/info/layout/7/stream", `"s1"`, 400, 1301, "Invalid region index"},
		{mixedID, "replace", "/info/layout/0/stream", `"s3"`, 400, 1301, "Stream is not in view: common"},
		{mixedID, "add", "/info/inViews", `"common"`, 400, 1301, "Stream is Mixed"},
		{"s1", "replace", "/info/layout", `[]`, 400, 1301, "Stream is not a mixed stream"},
		{"nope", "replace", "/info/layout", `[]`, 404, 1004, "Stream not found"},
	}
	for _, c := range patchErrs {
		_, err := h.patch(c.id, c.op, c.path, c.value)
		wantStatus(t, err, c.status, c.code)
		wantErr(t, err, c.msg)
	}
	err = h.r.DeleteStream(mixedID)
	wantStatus(t, err, 400, 1301)
}

func TestRoomMixFailure(t *testing.T) {
	h := newMixHarness(t, nil)
	h.join("a", "presenter", "p1")
	h.join("b", "presenter", "p1")
	h.subscribe("b", "sub1", "tb", protocol.SubTrack{Type: "video", Mid: "0", From: mixedID})
	sub := h.rtc.byMethod(protocol.MethodRTCSubscribe)[0].req.(protocol.RTCSubscribe)
	if sub.Tracks[0].Source != (protocol.TrackRef{Agent: mixAgent, TrackID: mixedID + "-v"}) {
		t.Fatalf("subscription source %+v", sub.Tracks[0])
	}
	h.notes.take()
	// A failure restarts the mix once; what it fed ends.
	h.r.HandleMix(protocol.MixEvent{Agent: mixAgent, ID: mixedID, Type: protocol.MixEventFailed, Reason: "encoder died"})
	h.mix.waitCalls(t, protocol.MethodMixStart, 2)
	h.settle()
	notes := h.notes.take()
	if errs := find(notes, "b", protocol.EventProgress); len(errs) != 1 || !strings.Contains(string(errs[0].data), "Source stream loss") {
		t.Fatalf("subscriber progress %+v", errs)
	}
	if len(find(notes, "a", protocol.EventStream)) != 0 || !h.r.HasStream(mixedID) {
		t.Fatal("a restarted mix was removed")
	}
	// A failure whose restart fails removes the stream.
	h.mix.mu.Lock()
	h.mix.fail[protocol.MethodMixStart] = errors.New("no capacity")
	h.mix.mu.Unlock()
	h.r.HandleMix(protocol.MixEvent{Agent: mixAgent, ID: mixedID, Type: protocol.MixEventFailed})
	h.mix.waitCalls(t, protocol.MethodMixStart, 3)
	h.settle()
	removes := find(h.notes.take(), "a", protocol.EventStream)
	if len(removes) != 1 || string(removes[0].data) != `{"id":"room1-common","status":"remove"}` || h.r.HasStream(mixedID) {
		t.Fatalf("stream remove %+v", removes)
	}
	// A later join starts it again.
	h.mix.mu.Lock()
	delete(h.mix.fail, protocol.MethodMixStart)
	h.mix.mu.Unlock()
	if res := h.join("c", "presenter", "p1"); len(res.Room.Streams) != 1 {
		t.Fatalf("streams after rejoin %+v", res.Room.Streams)
	}
	// A mixing agent that leaves the cluster counts as a failure.
	h.r.FailAgents(func(agent string) bool { return agent != mixAgent })
	h.mix.waitCalls(t, protocol.MethodMixStart, 5)
}

func TestRoomAutoMix(t *testing.T) {
	h := newMixHarness(t, func(r *model.Room) { r.AutoMix = true })
	h.join("a", "presenter", "p1")
	h.notes.take()
	h.publish("a", "s1", "t1")
	h.settle()
	notes := find(h.notes.take(), "a", protocol.EventStream)
	if len(notes) != 2 || !strings.Contains(string(notes[0].data), `"status":"add"`) ||
		!strings.Contains(string(notes[0].data), `"inViews":["common"]`) ||
		!strings.Contains(string(notes[1].data), `{"id":"room1-common","status":"update","data":{"field":"video.layout","value":[{"stream":"s1"`) {
		t.Fatalf("stream add and layout update: %+v", notes)
	}
	if got := h.inputHistory(); !slices.Equal(got, []string{"s1"}) {
		t.Fatalf("mix.inputs %q", got)
	}
	// Without autoMix nothing is mixed until asked (OWT).
	plain := newMixHarness(t, nil)
	plain.join("a", "presenter", "p1")
	plain.publish("a", "s1", "t1")
	plain.settle()
	if got := plain.inputHistory(); len(got) != 0 {
		t.Fatalf("mix.inputs without autoMix %q", got)
	}
}
