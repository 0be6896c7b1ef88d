package agent

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/protocol"
	model "github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/common/secret"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/common/store/embedded"
)

// waitFor bounds every wait of these tests.
const waitFor = 5 * time.Second

// env is one in-process deployment: a local bus hub, an embedded store, a cluster registry, a
// fake webrtc agent and fake portals.
type env struct {
	t      *testing.T
	hub    *local.Hub
	store  *embedded.Store
	reg    *cluster.Registry
	rtc    *fakeWebRTC
	log    *slog.Logger
	roomID string
}

func newEnv(t *testing.T, mutate func(*model.Room)) *env {
	t.Helper()
	key, err := secret.Generate()
	if err != nil {
		t.Fatal(err)
	}
	box, err := secret.NewBox(key.Derive(secret.PurposeServiceKey))
	if err != nil {
		t.Fatal(err)
	}
	st, err := embedded.Open(t.TempDir(), box)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	e := &env{t: t, hub: local.NewHub(local.Config{}), store: st, log: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	svc := store.Service{ID: ids.ObjectID(), Name: "svc", Key: "k"}
	if err := st.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	cfg := model.Default("room")
	if mutate != nil {
		mutate(&cfg)
	}
	e.roomID = ids.ObjectID()
	if err := st.CreateRoom(ctx, store.Room{ID: e.roomID, ServiceID: svc.ID, Config: cfg.Config()}); err != nil {
		t.Fatal(err)
	}
	e.reg, err = cluster.NewRegistry(e.bus(), cluster.RegistryConfig{}, e.log)
	if err != nil {
		t.Fatal(err)
	}
	e.run(e.reg.Run)
	<-e.reg.Ready()
	e.rtc = newFakeWebRTC(t, e)
	return e
}

// bus returns a new process view of the hub, closed with the test.
func (e *env) bus() bus.Bus {
	b := local.New(e.hub)
	e.t.Cleanup(func() { _ = b.Close() })
	return b
}

// run runs f until the test ends and waits for it to return.
func (e *env) run(f func(context.Context) error) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
	return func() { cancel(); <-done }
}

// startAgent starts a conference agent with short timings; stop ends it.
func (e *env) startAgent() (a *Agent, stop context.CancelFunc) {
	e.t.Helper()
	a, err := New(Config{
		Host: "test", Heartbeat: 100 * time.Millisecond, LeaseTTL: time.Second, LeaseRenew: 100 * time.Millisecond,
		CleanGrace: 300 * time.Millisecond, CheckInterval: 50 * time.Millisecond,
	}, Deps{Bus: e.bus(), Logger: e.log, Store: e.store, Scheduler: e.reg, Alive: e.reg.Alive})
	if err != nil {
		e.t.Fatal(err)
	}
	stop = e.run(a.Run)
	c := e.bus()
	deadline := time.Now().Add(waitFor)
	for {
		err := c.Call(context.Background(), a.ID(), "ping", nil, nil)
		if !errors.Is(err, bus.ErrNoEndpoint) {
			return a, stop
		}
		if time.Now().After(deadline) {
			e.t.Fatal("agent endpoint never appeared")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeWebRTC is a webrtc agent that records rtc.* calls and announces itself in the cluster.
type fakeWebRTC struct {
	id    string
	bus   bus.Bus
	stop  context.CancelFunc
	mu    sync.Mutex
	calls map[string][]json.RawMessage
}

func newFakeWebRTC(t *testing.T, e *env) *fakeWebRTC {
	f := &fakeWebRTC{id: cluster.NewWorkerID("webrtc", "test"), bus: e.bus(), calls: map[string][]json.RawMessage{}}
	if _, err := f.bus.Serve(f.id, func(_ context.Context, req bus.Request) (any, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls[req.Method] = append(f.calls[req.Method], req.Body)
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	f.announce(t, e)
	return f
}

// announce starts the agent's announcer (again, after stop) and waits until it is registered.
func (f *fakeWebRTC) announce(t *testing.T, e *env) {
	t.Helper()
	ann := cluster.NewAnnouncer(f.bus, cluster.Worker{ID: f.id, Purpose: "webrtc"}, 100*time.Millisecond, nil, e.log)
	f.stop = e.run(ann.Run)
	e.waitWorker(f.id, true)
}

// waitWorker waits until the registry lists the worker id (alive) or no longer does.
func (e *env) waitWorker(id string, alive bool) {
	e.t.Helper()
	deadline := time.Now().Add(waitFor)
	for e.reg.Alive(id) != alive {
		if time.Now().After(deadline) {
			e.t.Fatalf("worker %s alive = %v, want %v", id, !alive, alive)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// last decodes the last call of method into v, waiting for it.
func (f *fakeWebRTC) last(t *testing.T, method string, n int, v any) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		f.mu.Lock()
		calls := f.calls[method]
		f.mu.Unlock()
		if len(calls) >= n {
			if err := json.Unmarshal(calls[len(calls)-1], v); err != nil {
				t.Fatal(err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d× %s", n, method)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// emit publishes an RTCEvent to the controlling conference agent.
func (f *fakeWebRTC) emit(t *testing.T, controller string, ev protocol.RTCEvent) {
	t.Helper()
	ev.Agent = f.id
	if err := f.bus.Publish(context.Background(), protocol.RTCTopic(controller), ev); err != nil {
		t.Fatal(err)
	}
}

// fakePortal records the notices sent to one portal.
type fakePortal struct {
	id      string
	mu      sync.Mutex
	notices []protocol.PortalNotice
}

func (e *env) portal(id string) *fakePortal {
	p := &fakePortal{id: id}
	if _, err := e.bus().Subscribe(protocol.PortalTopic(id), func(_ context.Context, ev bus.Event) {
		var n protocol.PortalNotice
		if err := ev.Decode(&n); err == nil {
			p.mu.Lock()
			p.notices = append(p.notices, n)
			p.mu.Unlock()
		}
	}); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// wait returns the first unseen notice of event for participant whose data contains want
// (compared as JSON text), failing the test after waitFor.
func (p *fakePortal) wait(t *testing.T, participant, event, want string) protocol.PortalNotice {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		p.mu.Lock()
		for i, n := range p.notices {
			if n.Event == event && contains(n.Participants, participant) && (want == "" || string(n.Data) == want) {
				p.notices = append(p.notices[:i:i], p.notices[i+1:]...)
				p.mu.Unlock()
				return n
			}
		}
		p.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("portal %s: no %s %s for %s", p.id, event, want, participant)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
