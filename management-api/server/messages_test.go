package server

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// chatAgent is a conference agent holding one room's lease that answers the chat RPCs.
type chatAgent struct {
	mu   sync.Mutex
	reqs map[string]protocol.ChatRequest
}

func (e *env) startChatAgent(roomID string) *chatAgent {
	e.t.Helper()
	a := &chatAgent{reqs: map[string]protocol.ChatRequest{}}
	sub, err := e.bus.Serve(agentID, a.handle)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = sub.Close() })
	if _, err := e.st.AcquireLease(context.Background(), protocol.LeaseName(roomID), agentID, time.Minute); err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (a *chatAgent) handle(_ context.Context, req bus.Request) (any, error) {
	var v protocol.ChatRequest
	if err := req.Decode(&v); err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.reqs[req.Method] = v
	a.mu.Unlock()
	if v.ID == "000000000000000000000000" {
		return nil, errs.MessageNotFound()
	}
	switch req.Method {
	case protocol.MethodChatSend:
		return protocol.ChatMessage{ID: "m1", From: v.From, To: v.To, Content: v.Content, Timestamp: 1}, nil
	case protocol.MethodChatEdit:
		return protocol.ChatMessage{ID: v.ID, From: "p1", To: "all", Content: v.Content, Timestamp: 1, Edited: 2}, nil
	}
	return nil, nil
}

func (a *chatAgent) last(method string) protocol.ChatRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reqs[method]
}

func decodeMessage(t *testing.T, body []byte) protocol.ChatMessage {
	t.Helper()
	var m protocol.ChatMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("message %s: %v", body, err)
	}
	return m
}

func TestMessagesNotLive(t *testing.T) {
	e := newEnv(t, nil)
	roomID := e.createRoom(e.svc, "chat")
	base := "/v1/rooms/" + roomID + "/messages"

	rec := e.as(e.svc, "POST", base, `{"to":"all","content":"<b>hello</b>"}`)
	wantOK(t, rec)
	m := decodeMessage(t, rec.Body.Bytes())
	if m.ID == "" || m.From != "service" || m.To != "all" || m.Content != "<b>hello</b>" || m.Timestamp == 0 {
		t.Fatalf("posted %+v", m)
	}
	for _, bad := range []string{`{"to":"all"}`, `{"to":"all","content":""}`, `{"content":"x"}`,
		`{"to":"all","content":"x","extra":1}`, `{"to":"all","content":5}`,
		`{"to":"all","content":"` + strings.Repeat("x", protocol.MaxTextLength+1) + `"}`} {
		wantError(t, e.as(e.svc, "POST", base, bad), 400, 1301)
	}
	wantError(t, e.as(e.svc, "POST", base, `{"from":"p1","to":"all","content":"x"}`), 404, 1005)
	wantError(t, e.as(e.svc, "POST", base, `{"to":"p1","content":"x"}`), 404, 1005)
	second := decodeMessage(t, e.as(e.svc, "POST", base, `{"from":"service","to":"all","content":"two"}`).Body.Bytes())

	rec = e.as(e.svc, "GET", base, "")
	wantOK(t, rec)
	var list []protocol.ChatMessage
	mustJSON(t, rec.Body.Bytes(), &list)
	if len(list) != 2 || list[0].ID != m.ID || list[1].ID != second.ID {
		t.Fatalf("list %s", rec.Body)
	}
	rec = e.as(e.svc, "GET", base+"?before="+second.ID+"&limit=1", "")
	mustJSON(t, rec.Body.Bytes(), &list)
	if len(list) != 1 || list[0].ID != m.ID {
		t.Fatalf("page %s", rec.Body)
	}
	wantError(t, e.as(e.svc, "GET", base+"?limit=0", ""), 400, 1301)
	wantError(t, e.as(e.svc, "GET", base+"?limit=101", ""), 400, 1301)

	rec = e.as(e.svc, "PATCH", base+"/"+m.ID, `{"content":"edited"}`)
	wantOK(t, rec)
	if got := decodeMessage(t, rec.Body.Bytes()); got.Content != "edited" || got.Edited == 0 || got.From != "service" {
		t.Fatalf("edited %+v", got)
	}
	wantError(t, e.as(e.svc, "PATCH", base+"/"+m.ID, `{"content":"x","to":"p2"}`), 400, 1301)
	wantError(t, e.as(e.svc, "PATCH", base+"/000000000000000000000000", `{"content":"x"}`), 404, 1001)
	wantOK(t, e.as(e.svc, "DELETE", base+"/"+m.ID, ""))
	wantError(t, e.as(e.svc, "DELETE", base+"/"+m.ID, ""), 404, 1001)
	wantError(t, e.as(e.svc, "GET", "/v1/rooms/000000000000000000000000/messages", ""), 404, 1003)

	wantOK(t, e.as(e.svc, "DELETE", "/v1/rooms/"+roomID, ""))
	left, err := e.st.ListMessages(context.Background(), roomID, "", 0)
	if err != nil || len(left) != 0 {
		t.Fatalf("messages of a deleted room: %v %v", left, err)
	}
}

func TestMessagesLive(t *testing.T) {
	e := newEnv(t, nil)
	roomID := e.createRoom(e.svc, "chat")
	agent := e.startChatAgent(roomID)
	base := "/v1/rooms/" + roomID + "/messages"

	rec := e.as(e.svc, "POST", base, `{"from":"p1","to":"p2","content":"hi"}`)
	wantOK(t, rec)
	if got := agent.last(protocol.MethodChatSend); got.RoomID != roomID || got.From != "p1" || got.To != "p2" ||
		got.Content != "hi" || got.ParticipantID != "" {
		t.Fatalf("send request %+v", got)
	}
	if m := decodeMessage(t, rec.Body.Bytes()); m.ID != "m1" {
		t.Fatalf("reply %s", rec.Body)
	}
	rec = e.as(e.svc, "PATCH", base+"/m1", `{"content":"edited"}`)
	wantOK(t, rec)
	if got := agent.last(protocol.MethodChatEdit); got.ID != "m1" || got.Content != "edited" {
		t.Fatalf("edit request %+v", got)
	}
	wantOK(t, e.as(e.svc, "DELETE", base+"/m1", ""))
	if got := agent.last(protocol.MethodChatDelete); got.ID != "m1" || got.RoomID != roomID {
		t.Fatalf("delete request %+v", got)
	}
	wantError(t, e.as(e.svc, "DELETE", base+"/000000000000000000000000", ""), 404, 1001)
}

func TestMessagesModerateRoleKept(t *testing.T) {
	e := newEnv(t, nil)
	rec := e.as(e.svc, "POST", "/v1/rooms", `{"name":"mod","options":{"roles":[`+
		`{"role":"host","publish":{"audio":true,"video":true},"subscribe":{"audio":true,"video":true},"moderate":true},`+
		`{"role":"guest","publish":{"audio":true,"video":true},"subscribe":{"audio":true,"video":true}}]}}`)
	wantOK(t, rec)
	var created struct {
		ID string `json:"_id"`
	}
	mustJSON(t, rec.Body.Bytes(), &created)
	rec = e.as(e.svc, "GET", "/v1/rooms/"+created.ID, "")
	wantOK(t, rec)
	if n := strings.Count(rec.Body.String(), `"moderate":true`); n != 1 {
		t.Fatalf("room has %d moderating roles, want 1: %s", n, rec.Body)
	}
	if msg := wantError(t, e.as(e.svc, "PUT", "/v1/rooms/"+created.ID, `{"roles":[{"role":"host","moderate":1}]}`), 400, 1301); !strings.Contains(msg, "moderate") {
		t.Fatalf("error %q does not name moderate", msg)
	}
	wantOK(t, e.as(e.svc, "PUT", "/v1/rooms/"+created.ID, `{"roles":[{"role":"chair","moderate":true}]}`))
	rec = e.as(e.svc, "GET", "/v1/rooms/"+created.ID, "")
	if !strings.Contains(rec.Body.String(), `"role":"chair"`) || strings.Count(rec.Body.String(), `"moderate":true`) != 1 {
		t.Fatalf("updated room %s", rec.Body)
	}
}
