package room

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	model "github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/common/store"
)

const testAgent = "webrtc-0000@test"

// rtcCall is one recorded call to the fake webrtc agents.
type rtcCall struct {
	method string
	agent  string
	req    any
}

// fakeRTC records calls; fail maps a method to the error it returns.
type fakeRTC struct {
	mu    sync.Mutex
	calls []rtcCall
	fail  map[string]error
}

func (f *fakeRTC) record(method, agent string, req any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, rtcCall{method, agent, req})
	return f.fail[method]
}

func (f *fakeRTC) Publish(_ context.Context, agent string, req protocol.RTCPublish) error {
	return f.record(protocol.MethodRTCPublish, agent, req)
}

func (f *fakeRTC) Subscribe(_ context.Context, agent string, req protocol.RTCSubscribe) error {
	return f.record(protocol.MethodRTCSubscribe, agent, req)
}

func (f *fakeRTC) Signaling(_ context.Context, agent string, req protocol.RTCSignaling) error {
	return f.record(protocol.MethodRTCSignaling, agent, req)
}

func (f *fakeRTC) Control(_ context.Context, agent string, req protocol.RTCControl) error {
	return f.record(protocol.MethodRTCControl, agent, req)
}

func (f *fakeRTC) Stats(_ context.Context, agent string, req protocol.RTCStatsRequest) (protocol.RTCStats, error) {
	out := protocol.RTCStats{}
	for _, id := range req.TransportIDs {
		out.Transports = append(out.Transports, protocol.TransportStats{ID: id, Estimate: 1000, EstimateSource: "twcc"})
	}
	return out, f.record(protocol.MethodRTCStats, agent, req)
}

func (f *fakeRTC) Terminate(agent string, op protocol.RTCOperation) {
	method := protocol.MethodRTCTerminate
	if op.OperationID == "" {
		method = protocol.MethodRTCDestroyTransport
	}
	_ = f.record(method, agent, op)
}

// byMethod returns the recorded calls of method.
func (f *fakeRTC) byMethod(method string) []rtcCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []rtcCall
	for _, c := range f.calls {
		if c.method == method {
			out = append(out, c)
		}
	}
	return out
}

// sent is one recorded notice.
type sent struct {
	portal       string
	participants []string
	event        string
	data         json.RawMessage
}

// fakeNotifier records notices.
type fakeNotifier struct {
	mu      sync.Mutex
	notices []sent
}

func (f *fakeNotifier) Notify(portal string, participants []string, event string, data any) {
	raw, _ := json.Marshal(data)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notices = append(f.notices, sent{portal, append([]string(nil), participants...), event, raw})
}

// take returns and forgets the recorded notices.
func (f *fakeNotifier) take() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.notices
	f.notices = nil
	return out
}

// fakeScheduler picks agent for transports and "<purpose>-0000@test" for sessions, or fails
// with err.
type fakeScheduler struct {
	agent string
	err   error
}

func (f fakeScheduler) Schedule(_ context.Context, purpose, _ string, _ store.Preference) (cluster.Worker, error) {
	if purpose != PurposeWebRTC {
		return cluster.Worker{ID: purpose + "-0000@test"}, f.err // recording and streaming agents
	}
	return cluster.Worker{ID: f.agent}, f.err
}

func (fakeScheduler) Forget(string) {}

// harness is a room with fake collaborators, a settable clock and manual timers.
type harness struct {
	t      *testing.T
	r      *Room
	rtc    *fakeRTC
	sess   *fakeSessions
	notes  *fakeNotifier
	mu     sync.Mutex
	now    time.Time
	timers []func()
}

func newHarness(t *testing.T, mutate func(*model.Room)) *harness {
	t.Helper()
	return newHarnessDeps(t, mutate, nil)
}

// newHarnessDeps is newHarness with a hook that completes the room's Deps (mixing).
func newHarnessDeps(t *testing.T, mutate func(*model.Room), deps func(*Deps)) *harness {
	t.Helper()
	cfg := model.Default("test")
	cfg.Roles = append(cfg.Roles, model.Role{Role: "admin",
		Publish: model.AV{Audio: true, Video: true}, Subscribe: model.AV{Audio: true, Video: true}})
	if mutate != nil {
		mutate(&cfg)
	}
	h := &harness{t: t, rtc: &fakeRTC{fail: map[string]error{}}, sess: newFakeSessions(), notes: &fakeNotifier{},
		now: time.Unix(1000, 0)}
	d := Deps{
		Controller: "conference-1@test", RTC: h.rtc, Sessions: h.sess, Notify: h.notes,
		Scheduler: fakeScheduler{agent: testAgent},
		Now:       h.clock,
		AfterFunc: func(_ time.Duration, f func()) { h.mu.Lock(); h.timers = append(h.timers, f); h.mu.Unlock() },
	}
	if deps != nil {
		deps(&d)
	}
	h.r = New("room1", cfg, d)
	t.Cleanup(func() { h.r.DropAll(); h.r.bgWG.Wait() })
	return h
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
}

// flush runs the pending timers (the 10 ms `stream add`).
func (h *harness) flush() {
	h.mu.Lock()
	fs := h.timers
	h.timers = nil
	h.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

func (h *harness) join(id, role, portal string) protocol.JoinResult {
	h.t.Helper()
	res, err := h.r.Join(context.Background(), protocol.Joiner{ID: id, User: "user-" + id, Role: role, Portal: portal})
	if err != nil {
		h.t.Fatalf("join %s: %v", id, err)
	}
	return res
}

// publish publishes an audio+video stream from owner on transport tid and drives it to ready.
func (h *harness) publish(owner, id, tid string) {
	h.t.Helper()
	h.publishTracks(owner, id, tid, []protocol.RTCTrack{
		{ID: tid + "-0", Mid: "0", Type: "audio", Format: protocol.Format{Codec: "opus", SampleRate: 48000, ChannelNum: 2}},
		{ID: tid + "-1", Mid: "1", Type: "video", Format: protocol.Format{Codec: "vp8"},
			Parameters: &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: 640, Height: 480}, Framerate: 30}},
	})
}

// publishTracks publishes the given tracks and drives the publication to announced.
func (h *harness) publishTracks(owner, id, tid string, tracks []protocol.RTCTrack) {
	h.t.Helper()
	var req []protocol.PubTrack
	seen := map[string]bool{}
	for _, tr := range tracks {
		if !seen[tr.Mid] {
			seen[tr.Mid] = true
			req = append(req, protocol.PubTrack{Type: tr.Type, Mid: tr.Mid, Source: "camera"})
		}
	}
	res, err := h.r.Publish(context.Background(), protocol.PublishRequest{
		RoomID: "room1", ParticipantID: owner, StreamID: id, TransportID: tid, Tracks: req,
	})
	if err != nil || res.ID != id || res.TransportID != tid {
		h.t.Fatalf("publish %s: %+v %v", id, res, err)
	}
	h.event(protocol.RTCEvent{Type: protocol.RTCEventReady, TransportID: tid})
	for i := range tracks {
		h.event(protocol.RTCEvent{Type: protocol.RTCEventTrack, TransportID: tid, OperationID: id, Track: &tracks[i]})
	}
	h.event(protocol.RTCEvent{Type: protocol.RTCEventComplete, TransportID: tid, OperationID: id})
	h.flush()
}

// subscribe subscribes owner to the tracks and drives it to ready.
func (h *harness) subscribe(owner, id, tid string, tracks ...protocol.SubTrack) {
	h.t.Helper()
	if _, err := h.r.Subscribe(context.Background(), protocol.SubscribeRequest{
		RoomID: "room1", ParticipantID: owner, SubscriptionID: id, TransportID: tid, Tracks: tracks,
	}); err != nil {
		h.t.Fatalf("subscribe %s: %v", id, err)
	}
	h.event(protocol.RTCEvent{Type: protocol.RTCEventReady, TransportID: tid})
	h.event(protocol.RTCEvent{Type: protocol.RTCEventComplete, TransportID: tid, OperationID: id})
}

func (h *harness) event(ev protocol.RTCEvent) {
	h.t.Helper()
	if ev.Agent == "" {
		ev.Agent = testAgent
	}
	if !h.r.HandleRTC(ev) {
		h.t.Fatalf("event for unknown transport %s", ev.TransportID)
	}
}

// wantErr checks err is an *errs.Error with message msg ("" = no error).
func wantErr(t *testing.T, err error, msg string) {
	t.Helper()
	if msg == "" {
		if err != nil {
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	var e *errs.Error
	if !errors.As(err, &e) || e.Message != msg {
		t.Fatalf("error = %v, want message %q", err, msg)
	}
}

// find returns the notices of event addressed to participant.
func find(notices []sent, participant, event string) []sent {
	var out []sent
	for _, n := range notices {
		for _, p := range n.participants {
			if p == participant && n.event == event {
				out = append(out, n)
			}
		}
	}
	return out
}

// decodeJSON unmarshals raw into a generic value for comparisons.
func decodeJSON(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return m
}
