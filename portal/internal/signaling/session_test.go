package signaling

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/iceconfig"
	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/common/token"
	"github.com/conclave-rtc/conclave/common/turncred"
)

// fakeSocket records what a session sends.
type fakeSocket struct {
	id            string
	mu            sync.Mutex
	events        []string
	closed        bool
	authenticated bool
}

func (s *fakeSocket) ID() string { return s.id }
func (s *fakeSocket) Emit(event string, _ ...any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, event)
	return nil
}
func (s *fakeSocket) Disconnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
}
func (s *fakeSocket) Authenticate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authenticated = true
}
func (s *fakeSocket) isAuthenticated() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authenticated
}
func (s *fakeSocket) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// fakeConference answers joins and records calls.
type fakeConference struct {
	mu      sync.Mutex
	joinErr error
	calls   []string
}

func (f *fakeConference) Join(context.Context, protocol.JoinRequest, store.Preference) (string, protocol.JoinResult, error) {
	return "agent-1", protocol.JoinResult{}, f.joinErr
}
func (f *fakeConference) Call(_ context.Context, _, method string, _, _ any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, method)
	return nil
}
func (f *fakeConference) called(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, m := range f.calls {
		if m == method {
			n++
		}
	}
	return n
}

// fakeTokens is an in-memory TokenStore.
type fakeTokens struct {
	mu     sync.Mutex
	key    string
	tokens map[string]store.Token
}

func (f *fakeTokens) TokenKey(context.Context, func() string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.key, nil
}
func (f *fakeTokens) ConsumeToken(_ context.Context, id string) (store.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tokens[id]
	if !ok {
		return store.Token{}, store.ErrNotFound
	}
	delete(f.tokens, id)
	return t, nil
}
func (f *fakeTokens) add(created time.Time) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := ids.ObjectID()
	f.tokens[id] = store.Token{ID: id, RoomID: "room1", User: "u", Role: "presenter", Created: created}
	return token.Encode(f.key, id, "h:1", false)
}

// reply captures one acknowledgement.
type reply struct{ args []any }

func (r *reply) ack(args ...any) error { r.args = args; return nil }
func (r *reply) status() string {
	if len(r.args) == 0 {
		return ""
	}
	return r.args[0].(string)
}
func (r *reply) msg() string {
	if len(r.args) < 2 {
		return ""
	}
	s, _ := r.args[1].(string)
	return s
}

type harness struct {
	hub    *Hub
	conf   *fakeConference
	tokens *fakeTokens
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{conf: &fakeConference{}, tokens: &fakeTokens{key: "k", tokens: map[string]store.Token{}}}
	cfg.PortalID = "portal-1"
	hub, err := NewHub(cfg, Deps{Conference: h.conf, Tokens: h.tokens})
	if err != nil {
		t.Fatal(err)
	}
	h.hub = hub
	return h
}

// do runs one request on a session and returns its reply.
func do(s *Session, event string, data any) *reply {
	var r reply
	raw, _ := json.Marshal(data)
	s.Handle(event, []json.RawMessage{raw, json.RawMessage("null")}, r.ack)
	return &r
}

func loginData(tok, sdk string) map[string]any {
	return map[string]any{"token": tok, "protocol": "1.2",
		"userAgent": map[string]any{"sdk": map[string]any{"type": sdk, "version": "1"}}}
}

func TestSignalingGuardAndLoginErrors(t *testing.T) {
	h := newHarness(t, Config{})
	sock := &fakeSocket{id: "p1"}
	s := h.hub.Attach(sock)
	for _, ev := range []string{EvPublish, EvSoac, EvText, EvLogout, EvRefreshTicket} {
		if r := do(s, ev, map[string]any{}); r.msg() != MsgIllegal {
			t.Fatalf("%s before login: %v", ev, r.args)
		}
	}
	if r := do(s, EvLogin, loginData(h.tokens.add(time.Now().Add(-181*time.Second)), "JavaScript")); r.msg() != MsgExpired || !sock.isClosed() {
		t.Fatalf("expired: %v closed=%v", r.args, sock.isClosed())
	}
	h.conf.joinErr = errs.BadRequest("Room is full")
	sock2 := &fakeSocket{id: "p2"}
	if r := do(h.hub.Attach(sock2), EvLogin, loginData(h.tokens.add(time.Now()), "JavaScript")); r.msg() != "Room is full" || !sock2.isClosed() {
		t.Fatalf("join failure: %v", r.args)
	}
	if h.hub.Count() != 0 {
		t.Fatal("failed logins left clients behind")
	}
	if sock.isAuthenticated() || sock2.isAuthenticated() {
		t.Fatal("a failed login authenticated its socket")
	}
}

func TestSignalingReconnectionDisabled(t *testing.T) {
	h := newHarness(t, Config{})
	sock := &fakeSocket{id: "p1"}
	s := h.hub.Attach(sock)
	if r := do(s, EvLogin, loginData(h.tokens.add(time.Now()), "Python")); r.status() != "ok" || !sock.isAuthenticated() {
		t.Fatalf("login: %v (socket authenticated %v)", r.args, sock.isAuthenticated())
	}
	if r := do(s, EvRefreshTicket, nil); r.msg() != MsgNotEnabled {
		t.Fatalf("refresh: %v", r.args)
	}
	// A ticket this portal signed for that participant is still refused.
	ticket := encodedTicket(h.hub.tickets, "p1", time.Now())
	s2 := h.hub.Attach(&fakeSocket{id: "p2"})
	if r := do(s2, EvRelogin, ticket); r.msg() != MsgNotAllowed {
		t.Fatalf("relogin: %v", r.args)
	}
	if h.conf.called(protocol.MethodLeave) != 1 || h.hub.Count() != 0 {
		t.Fatal("refused relogin did not force the participant out")
	}
	s.Disconnected("transport close") // nothing left to do
}

func TestSignalingReloginTicketErrors(t *testing.T) {
	h := newHarness(t, Config{})
	other := NewTickets(time.Minute)
	expired := encodedTicket(h.hub.tickets, "p1", time.Now().Add(-time.Hour))
	cases := []struct {
		name   string
		ticket any
		msg    string
	}{
		{"not a string", 5, MsgIllegal},
		{"garbage", "%%%", MsgIllegal},
		{"expired", expired, MsgTicketExpired},
		{"foreign", encodedTicket(other, "p1", time.Now()), MsgTicketSignature},
		{"unknown", encodedTicket(h.hub.tickets, "nobody", time.Now()), MsgNoClient},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sock := &fakeSocket{id: "x"}
			if r := do(h.hub.Attach(sock), EvRelogin, tc.ticket); r.msg() != tc.msg || !sock.isClosed() {
				t.Fatalf("relogin: %v closed=%v", r.args, sock.isClosed())
			}
		})
	}
}

func TestSignalingQueueWhileAwaitingRelogin(t *testing.T) {
	h := newHarness(t, Config{PendingLimit: 2, ReconnectGrace: time.Minute})
	sock := &fakeSocket{id: "p1"}
	s := h.hub.Attach(sock)
	r := do(s, EvLogin, loginData(h.tokens.add(time.Now()), "JavaScript"))
	if r.status() != "ok" {
		t.Fatalf("login: %v", r.args)
	}
	s.Disconnected("transport close")
	if h.hub.Waiting() != 1 {
		t.Fatal("not waiting for a relogin")
	}
	for _, ev := range []string{"text", "stream", "progress"} {
		h.hub.Deliver(protocol.PortalNotice{RoomID: "room1", Participants: []string{"p1"}, Event: ev, Data: json.RawMessage(`{}`)})
	}
	sock2 := &fakeSocket{id: "p2"}
	ticket := r.args[1].(loginResult).ReconnectionTicket
	if r2 := do(h.hub.Attach(sock2), EvRelogin, ticket); r2.status() != "ok" || !sock2.isAuthenticated() {
		t.Fatalf("relogin: %v", r2.args)
	}
	sock2.mu.Lock()
	got := append([]string(nil), sock2.events...)
	sock2.mu.Unlock()
	if len(got) != 2 || got[0] != "stream" || got[1] != "progress" {
		t.Fatalf("flushed %v, want the 2 newest", got)
	}
	// A ticket reconnects once: a copy replayed later cannot take the participant over.
	sock3 := &fakeSocket{id: "p3"}
	if r3 := do(h.hub.Attach(sock3), EvRelogin, ticket); r3.msg() != MsgTicketExpired || !sock3.isClosed() || sock2.isClosed() {
		t.Fatalf("replayed ticket: %v (closed %v, live socket closed %v)", r3.args, sock3.isClosed(), sock2.isClosed())
	}
	h.hub.Deliver(protocol.PortalNotice{RoomID: "room1", Participants: []string{"p1"}, Event: protocol.EventDrop})
	if !sock2.isClosed() || h.hub.Count() != 0 {
		t.Fatal("drop did not close the client")
	}
	h.hub.BeginShutdown()
	h.hub.shutdown()
}

func TestSignalingIdleSocketClosed(t *testing.T) {
	h := newHarness(t, Config{IdleTimeout: 50 * time.Millisecond})
	sock := &fakeSocket{id: "p1"}
	h.hub.Attach(sock)
	deadline := time.Now().Add(2 * time.Second)
	for !sock.isClosed() {
		if time.Now().After(deadline) {
			t.Fatal("idle socket not closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSignalingNewHubRequiresConference(t *testing.T) {
	if _, err := NewHub(Config{PortalID: "p"}, Deps{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("err %v", err)
	}
}

// TestSignalingTicketRevocation: refreshing revokes the previous ticket, and a ticket whose
// unsigned ticketId was altered is still the same (used) ticket.
func TestSignalingTicketRevocation(t *testing.T) {
	h := newHarness(t, Config{ReconnectGrace: time.Minute})
	sock := &fakeSocket{id: "p1"}
	s := h.hub.Attach(sock)
	r := do(s, EvLogin, loginData(h.tokens.add(time.Now()), "JavaScript"))
	if r.status() != "ok" {
		t.Fatalf("login: %v", r.args)
	}
	first := r.args[1].(loginResult).ReconnectionTicket
	rr := do(s, EvRefreshTicket, nil)
	if rr.status() != "ok" {
		t.Fatalf("refresh: %v", rr.args)
	}
	fresh := rr.args[1].(string)
	s.Disconnected("transport close")

	if r := do(h.hub.Attach(&fakeSocket{id: "p2"}), EvRelogin, first); r.status() == "ok" {
		t.Fatal("a ticket replaced by a refresh still relogged in")
	}
	live := &fakeSocket{id: "p3"}
	if r := do(h.hub.Attach(live), EvRelogin, fresh); r.status() != "ok" {
		t.Fatalf("relogin with the refreshed ticket: %v", r.args)
	}
	tk, err := ParseTicket(fresh)
	if err != nil {
		t.Fatal(err)
	}
	tk.TicketID = "forged"
	b, _ := json.Marshal(tk)
	if r := do(h.hub.Attach(&fakeSocket{id: "p4"}), EvRelogin, base64.StdEncoding.EncodeToString(b)); r.status() == "ok" || live.isClosed() {
		t.Fatalf("a used ticket with another ticketId relogged in: %v (live socket closed %v)", r.args, live.isClosed())
	}
}

// encodedTicket issues a ticket and returns it encoded.
func encodedTicket(t *Tickets, participantID string, now time.Time) string {
	encoded, _ := t.Issue(participantID, now, 0)
	return encoded
}

func TestSignalingLoginICEServers(t *testing.T) {
	urls := []string{"stun:h:3478", "turn:h:3478?transport=tcp"}
	h := newHarness(t, Config{ICEServers: iceconfig.NewIssuer(urls, "s3cret", time.Hour)})
	r := do(h.hub.Attach(&fakeSocket{id: "p1"}), EvLogin, loginData(h.tokens.add(time.Now()), "JavaScript"))
	if r.status() != "ok" {
		t.Fatalf("login: %v", r.args)
	}
	res := r.args[1].(loginResult)
	if len(res.ICEServers) != 2 || res.ICEServers[0].URLs[0] != "stun:h:3478" || res.ICEServers[1].Credential == "" {
		t.Fatalf("iceServers %+v", res.ICEServers)
	}
	if user, err := turncred.Check("s3cret", res.ICEServers[1].Username, time.Now()); err != nil || user != res.User {
		t.Fatalf("TURN username %q is not for the token's user %q: %v", res.ICEServers[1].Username, res.User, err)
	}
	// Without ICE servers the field is absent, as in OWT's answer.
	h = newHarness(t, Config{})
	r = do(h.hub.Attach(&fakeSocket{id: "p2"}), EvLogin, loginData(h.tokens.add(time.Now()), "JavaScript"))
	if b, _ := json.Marshal(r.args[1]); strings.Contains(string(b), "iceServers") {
		t.Fatalf("answer without ICE servers: %s", b)
	}
}
