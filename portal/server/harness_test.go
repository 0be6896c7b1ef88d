package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/secret"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/common/store/embedded"
	"github.com/conclave-rtc/conclave/common/token"
)

// env is a running portal with a real local bus, a real embedded store and a fake
// conference agent owning one room.
type env struct {
	t      *testing.T
	bus    bus.Bus
	store  *embedded.Store
	portal *Server
	url    string
	roomID string
	agent  *fakeAgent
}

func newEnv(t *testing.T, mutate func(*Config)) *env {
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
	b := local.New(local.NewHub(local.Config{Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(func() { _ = b.Close() })
	e := &env{t: t, bus: b, store: st, roomID: ids.ObjectID()}
	e.agent = startAgent(t, b, st, e.roomID)

	cfg := Config{Listen: "127.0.0.1:0", PublicHost: "127.0.0.1:8080", Heartbeat: 200 * time.Millisecond,
		ReconnectGrace: 3 * time.Second, AgentGrace: 500 * time.Millisecond, MaxMessageBytes: 64 << 10}
	if mutate != nil {
		mutate(&cfg)
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("PORTAL_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := New(cfg, Deps{Bus: b, Logger: log, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := p.Listen()
	if err != nil {
		t.Fatal(err)
	}
	e.portal, e.url = p, "http://"+addr.String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("portal run: %v", err)
		}
	})
	e.waitFor("agent known to the portal", func() bool { return p.reg.Alive(e.agent.id) })
	return e
}

// waitFor polls cond for up to 10 s.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timeout waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// token creates a token record created at created and returns its string.
func (e *env) token(created time.Time) string {
	e.t.Helper()
	ctx := context.Background()
	key, err := e.store.TokenKey(ctx, func() string { return ids.RandomHex(64) })
	if err != nil {
		e.t.Fatal(err)
	}
	id := ids.ObjectID()
	rec := store.Token{ID: id, ServiceID: ids.ObjectID(), RoomID: e.roomID, User: "alice", Role: "presenter",
		Origin: store.Preference{ISP: "isp", Region: "region"}, Code: "1", Host: "127.0.0.1:8080", Created: created}
	if err := e.store.CreateToken(ctx, rec); err != nil {
		e.t.Fatal(err)
	}
	return token.Encode(key, id, rec.Host, false)
}

// fakeAgent is a conference agent endpoint on the bus: it answers conf.* like a room with
// one stream and publishes the notices a real room would.
type fakeAgent struct {
	t      *testing.T
	bus    bus.Bus
	id     string
	roomID string
	stop   context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	portals  map[string]string // participant → portal
	requests map[string][]json.RawMessage
	leaves   []string
	lastPub  string
}

func startAgent(t *testing.T, b bus.Bus, st *embedded.Store, roomID string) *fakeAgent {
	a := &fakeAgent{t: t, bus: b, roomID: roomID, id: cluster.NewWorkerID(cluster.PurposeConference, "fake"),
		portals: map[string]string{}, requests: map[string][]json.RawMessage{}, done: make(chan struct{})}
	sub, err := b.Serve(a.id, a.handle)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.stop = cancel
	if _, err := st.AcquireLease(ctx, protocol.LeaseName(roomID), a.id, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	w := cluster.Worker{ID: a.id, Purpose: cluster.PurposeConference, MaxLoad: 0.85, Started: time.Now()}
	ann := cluster.NewAnnouncer(b, w, 200*time.Millisecond, func() float64 { return 0 }, slog.New(slog.DiscardHandler))
	go func() {
		defer close(a.done)
		defer sub.Close()
		_ = ann.Run(ctx)
	}()
	t.Cleanup(a.kill)
	return a
}

// kill stops the agent's announcements (the portal sees it leave the cluster).
func (a *fakeAgent) kill() {
	a.stop()
	<-a.done
}

// requestsOf returns the bodies received for a method.
func (a *fakeAgent) requestsOf(method string) []json.RawMessage {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]json.RawMessage(nil), a.requests[method]...)
}

// leftParticipants returns who left.
func (a *fakeAgent) leftParticipants() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.leaves...)
}

// notify publishes a notice to some participants.
func (a *fakeAgent) notify(event string, data any, participants ...string) {
	a.mu.Lock()
	byPortal := map[string][]string{}
	for _, p := range participants {
		byPortal[a.portals[p]] = append(byPortal[a.portals[p]], p)
	}
	a.mu.Unlock()
	var raw json.RawMessage
	if data != nil {
		raw, _ = json.Marshal(data)
	}
	for portal, ps := range byPortal {
		n := protocol.PortalNotice{RoomID: a.roomID, Participants: ps, Event: event, Data: raw}
		if err := a.bus.Publish(context.Background(), protocol.PortalTopic(portal), n); err != nil {
			a.t.Errorf("notify: %v", err)
		}
	}
}

// everyone lists the participants.
func (a *fakeAgent) everyone() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for p := range a.portals {
		out = append(out, p)
	}
	return out
}

// roomStream is the room's existing stream: audio plus two simulcast video layers.
func roomStream() protocol.StreamInfo {
	return protocol.StreamInfo{ID: "stream1", Type: "forward", Info: json.RawMessage(`{"owner":"bob","type":"webrtc","inViews":[]}`),
		Media: protocol.StreamMedia{Tracks: []protocol.TrackInfo{
			{ID: "t1-0", Type: "audio", Source: "mic", Format: protocol.Format{Codec: "opus", SampleRate: 48000, ChannelNum: 2}, Status: "active", Mid: "0"},
			{ID: "t1-1:r1", Type: "video", Source: "camera", Format: protocol.Format{Codec: "vp8"}, Status: "active", Mid: "1", Rid: "r1"},
			{ID: "t1-1:r2", Type: "video", Source: "camera", Format: protocol.Format{Codec: "vp8"}, Status: "active", Mid: "1", Rid: "r2"},
		}}}
}

func (a *fakeAgent) handle(_ context.Context, req bus.Request) (any, error) {
	a.mu.Lock()
	a.requests[req.Method] = append(a.requests[req.Method], req.Body)
	a.mu.Unlock()
	switch req.Method {
	case protocol.MethodJoin:
		return a.join(req)
	case protocol.MethodLeave:
		var v protocol.ParticipantRequest
		_ = req.Decode(&v)
		a.mu.Lock()
		a.leaves = append(a.leaves, v.ParticipantID)
		delete(a.portals, v.ParticipantID)
		a.mu.Unlock()
		return nil, nil
	case protocol.MethodPublish:
		var v protocol.PublishRequest
		_ = req.Decode(&v)
		a.mu.Lock()
		a.lastPub = v.StreamID
		a.mu.Unlock()
		return protocol.OperationResult{ID: v.StreamID, TransportID: v.TransportID}, nil
	case protocol.MethodSubscribe:
		var v protocol.SubscribeRequest
		_ = req.Decode(&v)
		return protocol.OperationResult{ID: v.SubscriptionID, TransportID: v.TransportID}, nil
	case protocol.MethodSignaling:
		return nil, a.soac(req)
	case protocol.MethodStreamControl:
		var v protocol.ControlRequest
		_ = req.Decode(&v)
		if v.Operation == "get-region" {
			return map[string]string{"region": "r1"}, nil
		}
		return nil, nil
	case protocol.MethodText:
		var v protocol.TextRequest
		_ = req.Decode(&v)
		a.notify(protocol.EventText, protocol.TextEvent{From: v.From, To: "all", Message: v.Message}, a.everyone()...)
		return nil, nil
	}
	return nil, nil
}

func (a *fakeAgent) join(req bus.Request) (any, error) {
	var v protocol.JoinRequest
	if err := req.Decode(&v); err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.portals[v.Participant.ID] = v.Participant.Portal
	a.mu.Unlock()
	// Sent before the join answer: the portal must queue it until the login is answered.
	a.notify(protocol.EventParticipant, protocol.ParticipantEvent{Action: "join",
		Data: protocol.ParticipantInfo{ID: "bot", User: "bot", Role: "viewer"}}, v.Participant.ID)
	all := protocol.AV{Audio: true, Video: true}
	return protocol.JoinResult{Permission: protocol.Permission{Publish: all, Subscribe: all},
		Room: protocol.RoomInfo{ID: v.RoomID, Views: []string{"common"},
			Participants: []protocol.ParticipantInfo{{ID: "bot", User: "bot", Role: "viewer"},
				{ID: v.Participant.ID, User: v.Participant.User, Role: v.Participant.Role}},
			Streams: []protocol.StreamInfo{roomStream()}}}, nil
}

// soac answers an offer like a webrtc agent: answer, transport ready, session ready, then
// the stream is added.
func (a *fakeAgent) soac(req bus.Request) error {
	var v protocol.SignalingRequest
	_ = req.Decode(&v)
	if v.Signaling.Type != "offer" {
		return nil
	}
	a.mu.Lock()
	pub := a.lastPub
	a.mu.Unlock()
	p := v.ParticipantID
	a.notify(protocol.EventProgress, protocol.ProgressEvent{ID: v.TransportID, Status: "soac",
		Data: protocol.Signaling{Type: "answer", SDP: "v=0\r\nanswer"}}, p)
	a.notify(protocol.EventProgress, protocol.ProgressEvent{ID: v.TransportID, Status: "ready"}, p)
	a.notify(protocol.EventProgress, protocol.ProgressEvent{ID: v.TransportID, SessionID: pub, Status: "ready"}, p)
	s := roomStream()
	s.ID = pub
	a.notify(protocol.EventStream, protocol.StreamEvent{ID: pub, Status: "add", Data: s}, p)
	return nil
}

// nodeClient runs testdata/node/owt-client.js.
type nodeClient struct {
	t     *testing.T
	stdin io.WriteCloser
	lines chan map[string]any
}

// nodeDir locates node and the npm test clients, skipping when node is absent (unless
// CONCLAVE_REQUIRE_INTEGRATION is set).
func nodeDir(t *testing.T) (string, string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CONCLAVE_REQUIRE_INTEGRATION") != "" {
			t.Fatalf("node not found: %v", err)
		}
		t.Skip("node not found")
	}
	dir, err := filepath.Abs(filepath.Join("..", "internal", "socketio", "testdata", "node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io-client-v4")); err != nil {
		t.Fatalf("npm test clients missing: npm ci --prefix portal/internal/socketio/testdata/node: %v", err)
	}
	return node, dir
}

func (e *env) runNode(version, scenario string, params map[string]any) *nodeClient {
	e.t.Helper()
	node, dir := nodeDir(e.t)
	raw, _ := json.Marshal(params)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "owt-client.js"), version, e.url, scenario, string(raw))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	n := &nodeClient{t: e.t, stdin: stdin, lines: make(chan map[string]any, 16)}
	go func() {
		defer close(n.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				m = map[string]any{"unparsed": sc.Text()}
			}
			n.lines <- m
		}
	}()
	e.t.Cleanup(func() {
		_ = stdin.Close()
		if err := cmd.Wait(); err != nil && !errors.Is(ctx.Err(), context.Canceled) {
			e.t.Logf("node exited: %v", err)
		}
		cancel()
	})
	return n
}

// next returns the next output line.
func (n *nodeClient) next() map[string]any {
	n.t.Helper()
	select {
	case m, ok := <-n.lines:
		if !ok {
			n.t.Fatal("node client ended early")
		}
		if errText, bad := m["error"]; bad {
			n.t.Fatalf("node client failed: %v", errText)
		}
		return m
	case <-time.After(45 * time.Second):
		n.t.Fatal("timeout waiting for node client output")
	}
	return nil
}

// send writes a line to the client's stdin.
func (n *nodeClient) send(line string) {
	if _, err := io.WriteString(n.stdin, line+"\n"); err != nil {
		n.t.Fatal(err)
	}
}
