package server

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// ack returns the acknowledgement arguments recorded under key.
func ack(t *testing.T, r map[string]any, key string) []any {
	t.Helper()
	a, ok := r[key].([]any)
	if !ok {
		t.Fatalf("%s: no ack in %v", key, r[key])
	}
	return a
}

// wantAck checks an ack's status and, when msg is not empty, its message.
func wantAck(t *testing.T, r map[string]any, key, status, msg string) []any {
	t.Helper()
	a := ack(t, r, key)
	if len(a) == 0 || a[0] != status {
		t.Fatalf("%s: ack %v, want %s", key, a, status)
	}
	if msg != "" && (len(a) < 2 || a[1] != msg) {
		t.Fatalf("%s: ack %v, want message %q", key, a, msg)
	}
	return a
}

// events returns the names of the received events in order.
func events(r map[string]any) []string {
	var out []string
	list, _ := r["events"].([]any)
	for _, e := range list {
		out = append(out, e.(map[string]any)["event"].(string))
	}
	return out
}

// eventData returns the data of the events named name.
func eventData(r map[string]any, name string) []any {
	var out []any
	list, _ := r["events"].([]any)
	for _, e := range list {
		m := e.(map[string]any)
		if m["event"] == name {
			out = append(out, m["data"])
		}
	}
	return out
}

func TestPortalFullSessionV12(t *testing.T) {
	for _, version := range []string{"v4", "v2"} {
		t.Run(version, func(t *testing.T) {
			e := newEnv(t, nil)
			r := e.runNode(version, "full", map[string]any{"token": e.token(time.Now()), "protocol": "1.2"}).next()
			login := wantAck(t, r, "login", "ok", "")[1].(map[string]any)
			// socket.io-client v2 reports the Engine.IO sid as socket.id; only v4 knows the real id.
			if (version == "v4" && login["id"] != r["id"]) || login["user"] != "alice" || login["role"] != "presenter" {
				t.Fatalf("login result %v (socket %v)", login, r["id"])
			}
			if login["reconnectionTicket"] == nil {
				t.Fatal("JavaScript client got no reconnection ticket")
			}
			room := login["room"].(map[string]any)
			tracks := room["streams"].([]any)[0].(map[string]any)["media"].(map[string]any)["tracks"].([]any)
			if room["id"] != e.roomID || len(tracks) != 3 {
				t.Fatalf("room %v", room)
			}
			wantAck(t, r, "inService", "error", "Connection is in service")
			pub := wantAck(t, r, "publish", "ok", "")[1].(map[string]any)
			if len(pub["id"].(string)) != 32 || pub["transportId"] != pub["id"] {
				t.Fatalf("publish ids %v", pub)
			}
			wantAck(t, r, "soac", "ok", "")
			wantAck(t, r, "candidate", "ok", "")
			region := wantAck(t, r, "streamControl", "ok", "")[1].(map[string]any)
			if region["region"] != "r1" {
				t.Fatalf("get-region %v", region)
			}
			wantAck(t, r, "mute", "ok", "ok")
			wantAck(t, r, "badPublish", "error", "request.media should have required property 'tracks'")
			wantAck(t, r, "extraPublish", "error", "request should NOT have additional properties")
			wantAck(t, r, "garbage", "error", "Invalid stream id")
			wantAck(t, r, "badSoac", "error", "Invalid signaling type")
			sub := wantAck(t, r, "subscribe", "ok", "")[1].(map[string]any)
			if sub["transportId"] != pub["transportId"] || sub["id"] == pub["id"] {
				t.Fatalf("subscribe ids %v (publish %v)", sub, pub)
			}
			for _, k := range []string{"subscriptionControl", "unsubscribe", "unpublish", "text", "logout"} {
				if a := wantAck(t, r, k, "ok", ""); len(a) != 1 {
					t.Fatalf("%s: ack %v, want ('ok') alone", k, a)
				}
			}
			wantAck(t, r, "badText", "error", "Invalid receiver")
			if ticket := wantAck(t, r, "refresh", "ok", "")[1]; ticket == "" {
				t.Fatal("empty refreshed ticket")
			}
			wantAck(t, r, "afterLogout", "error", "Illegal request")

			got := events(r)
			want := []string{"participant", "progress", "progress", "progress", "stream", "text"}
			if !slices.Equal(got, want) {
				t.Fatalf("events %v, want %v", got, want)
			}
			if ans := eventData(r, "progress")[0].(map[string]any); ans["status"] != "soac" {
				t.Fatalf("first progress %v", ans)
			}
			e.checkAgentSaw(login["id"].(string), pub)
			if left := e.agent.leftParticipants(); !slices.Contains(left, login["id"].(string)) {
				t.Fatalf("logout did not leave: %v", left)
			}
		})
	}
}

// checkAgentSaw verifies what reached the conference agent.
func (e *env) checkAgentSaw(participant string, pub map[string]any) {
	e.t.Helper()
	var p protocol.PublishRequest
	_ = json.Unmarshal(e.agent.requestsOf(protocol.MethodPublish)[0], &p)
	if p.StreamID != pub["id"] || len(p.Tracks) != 2 || p.Tracks[1].Mid != "1" || p.Legacy || string(p.Attributes) != `{"a":1}` {
		e.t.Fatalf("publish request %+v", p)
	}
	var j protocol.JoinRequest
	_ = json.Unmarshal(e.agent.requestsOf(protocol.MethodJoin)[0], &j)
	if j.Participant.ID != participant || j.Participant.Portal != e.portal.ID() || j.Participant.Origin.ISP != "isp" {
		e.t.Fatalf("join request %+v", j)
	}
}

func TestPortalFullSessionV11(t *testing.T) {
	e := newEnv(t, nil)
	r := e.runNode("v2", "full", map[string]any{"token": e.token(time.Now()), "protocol": "1.1"}).next()
	login := wantAck(t, r, "login", "ok", "")[1].(map[string]any)
	s := login["room"].(map[string]any)["streams"].([]any)[0].(map[string]any)
	video := s["media"].(map[string]any)["video"].(map[string]any)
	if orig := video["original"].([]any); len(orig) != 2 || orig[1].(map[string]any)["simulcastRid"] != "r2" {
		t.Fatalf("1.1 stream %v", s)
	}
	pub := wantAck(t, r, "publish", "ok", "")[1].(map[string]any)
	if pub["transportId"] != pub["id"] {
		t.Fatalf("legacy publish %v", pub)
	}
	wantAck(t, r, "badPublish", "error", "request.media should have required property 'video'")
	wantAck(t, r, "soac", "ok", "")
	got := events(r)
	want := []string{"participant", "progress", "progress", "session-progress", "stream", "text"}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	added := eventData(r, "stream")[0].(map[string]any)["data"].(map[string]any)
	if _, ok := added["media"].(map[string]any)["audio"]; !ok {
		t.Fatalf("stream add not converted: %v", added)
	}
	var sub protocol.SubscribeRequest
	_ = json.Unmarshal(e.agent.requestsOf(protocol.MethodSubscribe)[0], &sub)
	if !sub.Legacy || len(sub.Tracks) != 2 || sub.Tracks[1].From != "t1-1:r1" || sub.Tracks[1].Mid != "1" || sub.TransportID != sub.SubscriptionID {
		t.Fatalf("legacy subscribe %+v", sub)
	}
}

// TestPortalLoginFailures: every failed login gets its error acknowledgement, then the
// disconnect, with real socket.io clients 4.x (Engine.IO v4) and 2.x (v3), over polling
// (upgrading to websocket meanwhile, as clients do by default) and websocket only.
func TestPortalLoginFailures(t *testing.T) {
	e := newEnv(t, nil)
	used := e.token(time.Now())
	first := e.runNode("v4", "login", map[string]any{"token": used}).next()
	wantAck(t, first, "login", "ok", "")
	other := newEnv(t, nil) // a store with another token key
	type loginCase struct {
		name   string
		params map[string]any
		msg    string
	}
	cases := func() []loginCase {
		return []loginCase{ // an expired token is used up by its attempt
			{"reused", map[string]any{"token": used}, "Invalid token"},
			{"expired", map[string]any{"token": e.token(time.Now().Add(-200 * time.Second))}, "Expired"},
			{"bad signature", map[string]any{"token": other.token(time.Now())}, "Invalid token signature"},
			{"garbage token", map[string]any{"token": "!!!"}, "Invalid token"},
			{"unknown protocol", map[string]any{"token": "x", "protocol": "2.0"}, "Unknown client protocol"},
			{"no protocol", map[string]any{"raw": map[string]any{"token": "x"}}, "Unsupported client protocol"},
			{"user agent", map[string]any{"raw": map[string]any{"token": "x", "protocol": "1.2", "userAgent": map[string]any{}}}, "User agent info is incorrect"},
			{"deprecated", map[string]any{"raw": map[string]any{"token": "x", "protocol": "1.2",
				"userAgent": map[string]any{"sdk": map[string]any{"type": "JavaScript", "version": "3.5"}}}}, "Deprecated client version"},
		}
	}
	for _, version := range []string{"v4", "v2"} {
		for _, ws := range []bool{false, true} {
			transport := map[bool]string{false: "polling", true: "websocket"}[ws]
			t.Run(version+"/"+transport, func(t *testing.T) {
				t.Parallel()
				for _, tc := range cases() {
					params := maps.Clone(tc.params)
					params["websocket"] = ws
					r := e.runNode(version, "login", params).next()
					wantAck(t, r, "login", "error", tc.msg)
					if r["disconnected"] != true {
						t.Fatalf("%s: socket kept open after a failed login: %v", tc.name, r)
					}
				}
			})
		}
	}
}

func TestPortalReloginDeliversQueuedMessages(t *testing.T) {
	for _, version := range []string{"v4", "v2"} {
		t.Run(version, func(t *testing.T) {
			e := newEnv(t, nil)
			n := e.runNode(version, "relogin", map[string]any{"token": e.token(time.Now())})
			id := n.next()["id"].(string)
			if phase := n.next()["phase"]; phase != "disconnected" {
				t.Fatalf("phase %v", phase)
			}
			e.waitFor("participant awaiting relogin", func() bool { return e.portal.hub.Waiting() == 1 })
			for i := range 3 {
				e.agent.notify(protocol.EventText, protocol.TextEvent{From: "bot", To: "me", Message: fmt.Sprint("queued", i)}, id)
			}
			time.Sleep(200 * time.Millisecond) // let the notices cross the bus before the relogin
			n.send("go")
			r := n.next()
			ticket := wantAck(t, r, "relogin", "ok", "")[1]
			if _, isString := ticket.(string); !isString {
				t.Fatalf("relogin answered %T, want the plain ticket string", ticket)
			}
			wantAck(t, r, "reuse", "error", "Connection is in service")
			wantAck(t, r, "text", "ok", "")
			var texts []string
			for _, d := range eventData(r, "text") {
				texts = append(texts, d.(map[string]any)["message"].(string))
			}
			if want := []string{"queued0", "queued1", "queued2", "back"}; !slices.Equal(texts, want) {
				t.Fatalf("texts %v, want %v", texts, want)
			}
			if left := e.agent.leftParticipants(); len(left) != 0 {
				t.Fatalf("participant left during the grace period: %v", left)
			}
		})
	}
}

func TestPortalReconnectionGraceEnds(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ReconnectGrace = 300 * time.Millisecond })
	n := e.runNode("v4", "relogin", map[string]any{"token": e.token(time.Now())})
	id := n.next()["id"].(string)
	n.next()
	e.waitFor("leave after grace", func() bool { return slices.Contains(e.agent.leftParticipants(), id) })
	n.send("go")
	r := n.next()
	wantAck(t, r, "relogin", "error", "Client does NOT exist")
}

func TestPortalDropNotice(t *testing.T) {
	e := newEnv(t, nil)
	n := e.runNode("v4", "drop", map[string]any{"token": e.token(time.Now())})
	id := n.next()["id"].(string)
	e.agent.notify(protocol.EventDrop, nil, id)
	r := n.next()
	if r["disconnected"] != true || !slices.Equal(events(r), []string{"participant", "drop"}) {
		t.Fatalf("drop: %v", r)
	}
}

func TestPortalAgentDeathDrops(t *testing.T) {
	e := newEnv(t, nil)
	n := e.runNode("v2", "drop", map[string]any{"token": e.token(time.Now())})
	n.next()
	time.Sleep(600 * time.Millisecond) // past AgentGrace
	e.agent.kill()
	r := n.next()
	if r["disconnected"] != true || !slices.Contains(events(r), "drop") {
		t.Fatalf("agent death: %v", r)
	}
	e.waitFor("client forgotten", func() bool { return e.portal.hub.Count() == 0 })
}

func TestPortalOversizedMessageCloses(t *testing.T) {
	e := newEnv(t, nil)
	r := e.runNode("v4", "oversized", map[string]any{"token": e.token(time.Now()), "size": 100000}).next()
	wantAck(t, r, "login", "ok", "")
	wantAck(t, r, "small", "ok", "")
	if r["disconnected"] != true {
		t.Fatalf("oversized message: %v", r)
	}
	e.waitFor("leave after close", func() bool { return len(e.agent.leftParticipants()) == 1 })
}
