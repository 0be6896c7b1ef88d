package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/common/token"
)

// fakeAgent is a conference agent on the local bus holding one room's lease. It knows one
// participant "p1" and one stream "s1", and records every request.
type fakeAgent struct {
	mu   sync.Mutex
	reqs map[string]json.RawMessage // method → last request body
}

const agentID = "conference-0123456789abcdef0123@127.0.0.1"

func (e *env) startAgent(name string, roomID string) *fakeAgent {
	e.t.Helper()
	a := &fakeAgent{reqs: map[string]json.RawMessage{}}
	sub, err := e.bus.Serve(name, a.handle)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = sub.Close() })
	if roomID != "" {
		if _, err := e.st.AcquireLease(context.Background(), protocol.LeaseName(roomID), name, time.Minute); err != nil {
			e.t.Fatal(err)
		}
	}
	return a
}

func (a *fakeAgent) last(method string) json.RawMessage {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reqs[method]
}

func (a *fakeAgent) handle(_ context.Context, req bus.Request) (any, error) {
	a.mu.Lock()
	a.reqs[req.Method] = req.Body
	a.mu.Unlock()
	var item protocol.ItemRequest
	_ = json.Unmarshal(req.Body, &item)
	participant := map[string]any{"id": "p1", "user": "alice", "role": "presenter",
		"permission": map[string]any{"publish": map[string]bool{"audio": true, "video": true},
			"subscribe": map[string]bool{"audio": true, "video": false}}}
	stream := map[string]any{"id": "s1", "type": "forward", "media": map[string]any{"audio": false, "video": false},
		"info": map[string]any{"owner": "p1", "type": "webrtc", "inViews": []string{}}}
	switch req.Method {
	case protocol.MethodParticipantsList:
		return []any{participant}, nil
	case protocol.MethodStreamsList:
		return []any{stream}, nil
	case protocol.MethodParticipantsGet, protocol.MethodParticipantsUpdate, protocol.MethodParticipantsDrop:
		if item.ID != "p1" {
			return nil, errs.ParticipantNotFound()
		}
		return participant, nil
	case protocol.MethodStreamsGet, protocol.MethodStreamsUpdate, protocol.MethodStreamsDelete:
		if item.ID != "s1" {
			return nil, errs.StreamNotFound()
		}
		return stream, nil
	case protocol.MethodRecordingsAdd:
		var add protocol.AddRequest[protocol.Recording]
		if err := json.Unmarshal(req.Body, &add); err != nil {
			return nil, err
		}
		return map[string]any{"id": "rec1", "media": add.Spec.Media,
			"storage": map[string]string{"host": "h", "file": "/tmp/rec1.mkv"}, "status": "active"}, nil
	case protocol.MethodStreamingInsAdd:
		return stream, nil
	case protocol.MethodRoomDestroy:
		return nil, nil
	}
	return nil, errs.NotFound("unsupported")
}

func TestLiveResources(t *testing.T) {
	e := newEnv(t, nil)
	roomID := e.createRoom(e.svc, "live")
	agent := e.startAgent(agentID, roomID)
	base := "/v1/rooms/" + roomID

	rec := e.as(e.svc, "GET", base+"/participants", "")
	wantOK(t, rec)
	if !strings.Contains(rec.Body.String(), `"id":"p1"`) {
		t.Fatalf("participants %s", rec.Body)
	}
	wantOK(t, e.as(e.svc, "GET", base+"/participants/p1", ""))
	wantError(t, e.as(e.svc, "GET", base+"/participants/p2", ""), 404, 1005)
	wantError(t, e.as(e.svc, "GET", base+"/participants/bad%20id", ""), 404, 1005)
	patch := `[{"op":"replace","path":"/permission/publish/audio","value":false}]`
	wantOK(t, e.as(e.svc, "PATCH", base+"/participants/p1", patch))
	var upd protocol.ItemUpdate
	mustJSON(t, agent.last(protocol.MethodParticipantsUpdate), &upd)
	if upd.RoomID != roomID || upd.ID != "p1" || len(upd.Ops) != 1 || upd.Ops[0].Path != "/permission/publish/audio" {
		t.Fatalf("update request %+v", upd)
	}
	rec = e.as(e.svc, "DELETE", base+"/participants/p1", "")
	wantOK(t, rec)
	if rec.Body.Len() != 0 {
		t.Fatalf("delete body %q", rec.Body)
	}

	rec = e.as(e.svc, "GET", "/v1.1/rooms/"+roomID+"/streams", "")
	wantOK(t, rec)
	if !strings.Contains(rec.Body.String(), `"id":"s1"`) {
		t.Fatalf("streams %s", rec.Body)
	}
	wantOK(t, e.as(e.svc, "GET", base+"/streams/s1", ""))
	wantOK(t, e.as(e.svc, "PATCH", base+"/streams/s1", `[{"op":"add","path":"/info/inViews","value":"common"}]`))
	wantOK(t, e.as(e.svc, "DELETE", base+"/streams/s1", ""))
	wantError(t, e.as(e.svc, "DELETE", base+"/streams/s9", ""), 404, 1004)

	body := `{"container":"mkv","media":{"audio":{"from":"s1"},"video":false}}`
	rec = e.as(e.svc, "POST", base+"/recordings", body)
	wantOK(t, rec)
	var add protocol.AddRequest[protocol.Recording]
	mustJSON(t, agent.last(protocol.MethodRecordingsAdd), &add)
	if add.RoomID != roomID || add.Spec.Container != "mkv" || add.Spec.Media.Audio == nil ||
		add.Spec.Media.Audio.From != "s1" || add.Spec.Media.Video != nil {
		t.Fatalf("recording request %+v", add)
	}
	if !strings.Contains(rec.Body.String(), `"id":"rec1"`) {
		t.Fatalf("recording reply %s", rec.Body)
	}
	// A remote error the agent does not know keeps its code.
	wantError(t, e.as(e.svc, "GET", base+"/sipcalls", ""), 404, 1001)

	// Deleting the room tells the agent.
	wantOK(t, e.as(e.svc, "DELETE", base, ""))
	var destroy protocol.RoomRequest
	mustJSON(t, agent.last(protocol.MethodRoomDestroy), &destroy)
	if destroy.RoomID != roomID {
		t.Fatalf("destroy %+v", destroy)
	}
}

func TestLiveRoomNotLive(t *testing.T) {
	e := newEnv(t, nil)
	roomID := e.createRoom(e.svc, "idle")
	base := "/v1/rooms/" + roomID
	for _, kind := range []string{"participants", "streams", "streaming-outs", "recordings", "sipcalls", "analytics"} {
		rec := e.as(e.svc, "GET", base+"/"+kind+"/", "")
		wantOK(t, rec)
		if strings.TrimSpace(rec.Body.String()) != "[]" {
			t.Fatalf("%s: %s", kind, rec.Body)
		}
	}
	wantError(t, e.as(e.svc, "GET", base+"/participants/p1", ""), 404, 1005)
	wantError(t, e.as(e.svc, "DELETE", base+"/participants/p1", ""), 404, 1005)
	wantError(t, e.as(e.svc, "GET", base+"/streams/s1", ""), 404, 1004)
	wantError(t, e.as(e.svc, "DELETE", base+"/streaming-ins/s1", ""), 404, 1004)
	wantError(t, e.as(e.svc, "DELETE", base+"/recordings/r1", ""), 404, 1004)
	wantError(t, e.as(e.svc, "DELETE", base+"/analytics/a1", ""), 404, 1001)
	wantError(t, e.as(e.svc, "POST", base+"/recordings", `{"media":{"audio":{"from":"s1"}}}`), 404, 1004)
	wantError(t, e.as(e.svc, "POST", base+"/streaming-outs",
		`{"url":"rtmp://127.0.0.1/live/x","media":{"video":{"from":"s1"}}}`), 404, 1004)
	in := `{"connection":{"url":"rtsp://127.0.0.1:8554/cam"},"media":{"audio":"auto","video":true}}`
	msg := wantError(t, e.as(e.svc, "POST", "/v1.1/rooms/"+roomID+"/streaming-ins", in), 500, 1201)
	if msg != "Failed to schedule conference agent" {
		t.Fatal(msg)
	}
	// Once a conference agent exists, the streaming-in goes to it.
	agent := e.startAgent(agentID, "")
	e.sched.set("conference", cluster.Worker{ID: agentID, Purpose: "conference"})
	wantOK(t, e.as(e.svc, "POST", "/v1.1/rooms/"+roomID+"/streaming-ins", in))
	var add protocol.AddRequest[protocol.StreamingIn]
	mustJSON(t, agent.last(protocol.MethodStreamingInsAdd), &add)
	if add.Spec.Connection.TransportProtocol != "tcp" || add.Spec.Connection.BufferSize != 8192 ||
		add.Spec.Media.Video != protocol.TrackYes {
		t.Fatalf("streaming-in %+v", add.Spec)
	}
	// An expired lease is not live; a lease whose agent vanished neither.
	if _, err := e.st.AcquireLease(context.Background(), protocol.LeaseName(roomID), "gone-agent", time.Minute); err != nil {
		t.Fatal(err)
	}
	wantOK(t, e.as(e.svc, "GET", base+"/participants", ""))
	wantError(t, e.as(e.svc, "GET", base+"/participants/p1", ""), 404, 1005)
}

func TestLiveValidation(t *testing.T) {
	e := newEnv(t, nil)
	roomID := e.createRoom(e.svc, "v")
	e.startAgent(agentID, roomID)
	base := "/v1/rooms/" + roomID
	cases := []struct{ method, path, body string }{
		{"PATCH", "/participants/p1", `{}`},
		{"PATCH", "/participants/p1", `[]`},
		{"PATCH", "/participants/p1", `[{"op":"add","path":"/permission/publish","value":{"audio":true,"video":true}}]`},
		{"PATCH", "/participants/p1", `[{"op":"replace","path":"/permission/publish/audio","value":"yes"}]`},
		{"PATCH", "/streams/s1", `[{"op":"replace","path":"/media/audio/status","value":"paused"}]`},
		{"PATCH", "/streams/s1", `[{"op":"replace","path":"/info/layout/x/stream","value":"s2"}]`},
		{"PATCH", "/recordings/r1", `[{"op":"replace","path":"/media/video/parameters/framerate","value":7}]`},
		{"PATCH", "/streaming-outs/o1", `[{"op":"replace","path":"/media/video/parameters/bitrate","value":"x2"}]`},
		{"PATCH", "/sipcalls/c1", `[{"op":"replace","path":"/media/audio/from","value":"s1"}]`},
		{"POST", "/recordings", `{"container":"avi","media":{"audio":{"from":"s1"}}}`},
		{"POST", "/recordings", `{"media":{"audio":false,"video":false}}`},
		{"POST", "/streaming-outs", `{"url":"ftp://127.0.0.1/x","media":{"audio":{"from":"s1"}}}`},
		{"POST", "/streaming-outs", `{"protocol":"rtmp","url":"rtsp://127.0.0.1/x","media":{"audio":{"from":"s1"}}}`},
		{"POST", "/streaming-ins", `{"connection":{"url":"file:///etc/passwd"},"media":{"audio":true,"video":true}}`},
		{"POST", "/streaming-ins", `{"connection":{"url":"rtsp://127.0.0.1/x","transportProtocol":"sctp"},"media":{"audio":true,"video":true}}`},
		{"POST", "/sipcalls", `{"peerURI":"sip:a@b","mediaIn":{"audio":false,"video":false},"mediaOut":{"audio":{"from":"m"},"video":false}}`},
		{"POST", "/analytics", `{"algorithm":"a","media":{"audio":{"from":"s1"}}}`},
		{"POST", "/participants", `{}`},
	}
	for _, c := range cases {
		rec := e.as(e.svc, c.method, base+c.path, c.body)
		if c.path == "/participants" {
			wantError(t, rec, 404, 1001) // no such route
			continue
		}
		wantError(t, rec, 400, 1301)
	}
}

func TestTokens(t *testing.T) {
	e := newEnv(t, nil)
	roomID := e.createRoom(e.svc, "t")
	path := "/v1/rooms/" + roomID + "/tokens/"
	body := `{"user":"bob","role":"presenter","preference":{"isp":"i","region":"r"}}`
	msg := wantError(t, e.as(e.svc, "POST", path, body), 500, 1201)
	if msg != "Failed to get portal" {
		t.Fatal(msg)
	}
	e.sched.set("portal", cluster.Worker{ID: "portal-1@h", Purpose: "portal", Host: "127.0.0.1:8080"})
	rec := e.as(e.svc, "POST", path, body)
	wantOK(t, rec)
	tok, err := token.Decode(rec.Body.String())
	if err != nil {
		t.Fatal(err)
	}
	key, err := e.st.TokenKey(context.Background(), func() string { t.Fatal("key not created"); return "" })
	if err != nil || !tok.Verify(key) || tok.Host != "127.0.0.1:8080" || tok.Secure {
		t.Fatalf("token %+v verify=%v err=%v", tok, tok.Verify(key), err)
	}
	rcd, err := e.st.ConsumeToken(context.Background(), tok.TokenID)
	if err != nil {
		t.Fatal(err)
	}
	if rcd.User != "bob" || rcd.Role != "presenter" || rcd.RoomID != roomID || rcd.ServiceID != e.svc.ID ||
		rcd.Origin.ISP != "i" || rcd.Code == "" {
		t.Fatalf("record %+v", rcd)
	}
	// via_host overrides host and TLS.
	e.sched.set("portal", cluster.Worker{ID: "portal-2@h", Host: "10.0.0.1:8080", ViaHost: "https://portal.example:443"})
	rec = e.as(e.svc, "POST", "/v1.1/rooms/"+roomID+"/tokens", `{"user":"c","role":"viewer"}`)
	wantOK(t, rec)
	tok, _ = token.Decode(rec.Body.String())
	if tok.Host != "portal.example:443" || !tok.Secure {
		t.Fatalf("via_host token %+v", tok)
	}
	// MAuth username and role override the body.
	h := signHeader(e.svc.ID, serviceKey, time.Now().UnixMilli(), "77", "carol", "viewer")
	rec = e.do("POST", path, h, `{"user":"x","role":"nope"}`)
	wantOK(t, rec)
	tok, _ = token.Decode(rec.Body.String())
	rcd, _ = e.st.ConsumeToken(context.Background(), tok.TokenID)
	if rcd.User != "carol" || rcd.Role != "viewer" || rcd.Origin.ISP != "isp" {
		t.Fatalf("override record %+v", rcd)
	}
	for _, bad := range []string{`{"user":"","role":"presenter"}`, `{"user":"a","role":"admin"}`, `{"user":1,"role":"viewer"}`} {
		wantError(t, e.as(e.svc, "POST", path, bad), 400, 1301)
	}
	wantError(t, e.as(e.super, "POST", path, body), 404, 1003)
}

func TestPanicRecovery(t *testing.T) {
	e := newEnv(t, nil)
	roomID := e.createRoom(e.svc, "p")
	e.st.Store = panicStore{e.st.Store}
	rec := e.as(e.svc, "GET", "/v1/rooms/"+roomID+"/participants", "")
	wantError(t, rec, http.StatusInternalServerError, 2001)
}

// panicStore panics on lease reads, to exercise the recovery middleware.
type panicStore struct{ store.Store }

func (panicStore) GetLease(context.Context, string) (store.Lease, error) { panic("boom") }
