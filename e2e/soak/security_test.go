package soak

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
)

// TestSecurity runs the isolation checks against one all-in-one process logging at debug
// level, then checks that none of the secrets the scenario used appears in its log.
func TestSecurity(t *testing.T) {
	srv := startAllInOne(t, "", "CONCLAVE_LOG_LEVEL=debug")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	svcA := srv.super.CreateService(t, "tenant-a")
	svcB := srv.super.CreateService(t, "tenant-b")
	roomA, roomB := svcA.CreateRoom(t, "a"), svcB.CreateRoom(t, "b")
	secrets := map[string]string{"super service key": srv.super.Key, "service key A": svcA.Key, "service key B": svcB.Key}

	t.Run("service isolation", func(t *testing.T) { checkServiceIsolation(t, svcA, svcB, roomA) })
	t.Run("cross-room stream", func(t *testing.T) {
		_, stream := publish(ctx, t, svcA, roomA, "alice")
		checkCrossRoom(ctx, t, svcB, roomB, roomA, stream)
		// Control: the same request from a participant of room A is served, so the refusal
		// above comes from the room boundary and not from the request itself.
		bob, _ := participant.JoinReady(ctx, t, func() string { return svcA.MustToken(t, roomA, "bob", "presenter", "") }, loopbackClient)
		sub, err := bob.Subscribe(ctx, guessedStream(stream), rtc.SubscribeOptions{})
		if err != nil {
			t.Fatalf("same-room subscribe: %v", err)
		}
		_ = sub.Close()
	})
	t.Run("token redeemed once", func(t *testing.T) {
		tok := svcA.MustToken(t, roomA, "contested", "presenter", "")
		secrets["contested token"] = tok
		checkRedeemOnce(ctx, t, srv.portal, tok)
	})
	t.Run("reconnection ticket", func(t *testing.T) {
		tok := svcA.MustToken(t, roomA, "reconnecting", "presenter", "")
		secrets["token"] = tok
		opts := signalingOnly()
		opts.SDKType = "JavaScript" // the portal issues reconnection tickets to this SDK type
		c, info := participant.JoinReady(ctx, t, func() string { return tok }, opts)
		if info.ReconnectionTicket == "" {
			t.Fatal("no reconnection ticket issued")
		}
		secrets["reconnection ticket"] = info.ReconnectionTicket
		if err := c.Leave(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("handshake flood", func(t *testing.T) { checkHandshakeFlood(ctx, t, srv.portal, svcA, roomA) })
	bad := svcA
	bad.Key = "wrong-key-" + svcA.Key[:8]
	e2eutil.MustError(t, bad.Do(t, "GET", "/v1/rooms", nil), http.StatusUnauthorized, 1101)

	log := srv.proc.Stderr()
	for what, s := range secrets {
		for _, part := range secretParts(s) {
			if strings.Contains(log, part) {
				t.Errorf("the log contains the %s (%q)", what, part)
			}
		}
	}
	t.Logf("checked %d secrets against %d KiB of debug log", len(secrets), len(log)>>10)
}

// secretParts is the secret itself and, for an OWT token, its signature (a token's id alone
// is not secret).
func secretParts(s string) []string {
	parts := []string{s}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return parts
	}
	var tok struct {
		Signature string `json:"signature"`
	}
	if json.Unmarshal(raw, &tok) == nil && tok.Signature != "" {
		parts = append(parts, tok.Signature)
	}
	return parts
}

// checkServiceIsolation: service B can neither read nor change service A's room, nor mint
// tokens for it, nor manage services (docs/owt-protocol.md §2: 404/1003 and 403/1102).
func checkServiceIsolation(t *testing.T, a, b e2eutil.RESTClient, roomA string) {
	for _, req := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/v1/rooms/" + roomA, nil},
		{"PUT", "/v1/rooms/" + roomA, map[string]any{"participantLimit": 1}},
		{"DELETE", "/v1/rooms/" + roomA, nil},
		{"POST", "/v1/rooms/" + roomA + "/tokens", map[string]any{"user": "mallory", "role": "presenter"}},
		{"GET", "/v1/rooms/" + roomA + "/participants", nil},
		{"GET", "/v1/rooms/" + roomA + "/streams", nil},
		{"POST", "/v1/rooms/" + roomA + "/recordings", map[string]any{"container": "mkv", "media": map[string]any{"audio": map[string]any{"from": "x"}}}},
	} {
		e2eutil.MustError(t, b.Do(t, req.method, req.path, req.body), http.StatusNotFound, 1003)
	}
	e2eutil.MustError(t, b.Do(t, "GET", "/services/"+a.ServiceID, nil), http.StatusForbidden, 1102)
	e2eutil.MustError(t, b.Do(t, "DELETE", "/services/"+a.ServiceID, nil), http.StatusForbidden, 1102)
	var rooms []map[string]any
	if err := json.Unmarshal(e2eutil.Must(t, b.Do(t, "GET", "/v1/rooms", nil), http.StatusOK).Body, &rooms); err != nil || len(rooms) != 1 {
		t.Fatalf("service B lists %d rooms (%v), want only its own", len(rooms), err)
	}
	e2eutil.Must(t, a.Do(t, "GET", "/v1/rooms/"+roomA, nil), http.StatusOK)
}

// checkCrossRoom: a participant of room B who knows (or guesses) the id of a stream of room
// A can neither subscribe to it nor control it, and the REST API does not show it under B.
func checkCrossRoom(ctx context.Context, t *testing.T, b e2eutil.RESTClient, roomB, roomA, stream string) {
	mallory, _ := participant.JoinReady(ctx, t, func() string { return b.MustToken(t, roomB, "mallory", "presenter", "") }, loopbackClient)
	if _, ok := mallory.Stream(stream); ok {
		t.Fatal("room B's participant was told about room A's stream")
	}
	sub, err := mallory.Subscribe(ctx, guessedStream(stream), rtc.SubscribeOptions{})
	if err == nil {
		_ = sub.Close()
		t.Fatal("room B's participant subscribed to room A's stream")
	}
	t.Logf("cross-room subscribe refused: %v", err)
	for _, op := range []struct {
		name string
		data any
	}{{"pause", "video"}, {"play", "audio"}, {"mix", "common"}} {
		if _, err := mallory.StreamControl(ctx, stream, op.name, op.data); err == nil {
			t.Fatalf("room B's participant could %s room A's stream", op.name)
		}
	}
	e2eutil.MustError(t, b.Do(t, "GET", "/v1/rooms/"+roomB+"/streams/"+stream, nil), http.StatusNotFound, 1004)
	e2eutil.MustError(t, b.Do(t, "DELETE", "/v1/rooms/"+roomB+"/streams/"+stream, nil), http.StatusNotFound, 1004)
	e2eutil.MustError(t, b.Do(t, "GET", "/v1/rooms/"+roomA+"/streams/"+stream, nil), http.StatusNotFound, 1003)
}

// guessedStream is what an attacker who knows a stream id would ask for: Opus and H.264.
func guessedStream(id string) protocol.StreamInfo {
	return protocol.StreamInfo{ID: id, Type: "forward", Media: protocol.StreamMedia{Tracks: []protocol.TrackInfo{
		{Type: "audio", Source: "mic", Format: protocol.Format{Codec: "opus"}, Status: "active"},
		{Type: "video", Source: "camera", Format: protocol.Format{Codec: "h264"}, Status: "active"}}}}
}

// checkRedeemOnce has 50 sockets log in with the same token at once: exactly one succeeds.
func checkRedeemOnce(ctx context.Context, t *testing.T, portal, tok string) {
	const n = 50
	var mu sync.Mutex
	answers := map[string]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			conn, ack, err := tryRawLogin(ctx, portal, tok)
			st, detail := ackStatus(ack)
			if err != nil {
				st, detail = "failed", err.Error()
			} else {
				defer conn.Close()
			}
			mu.Lock()
			if st == "ok" {
				answers["ok"]++
			} else {
				answers[st+": "+detail]++
			}
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	t.Logf("%d concurrent logins with one token: %v", n, answers)
	if answers["ok"] != 1 || answers["error: Invalid token"] != n-1 {
		t.Fatalf("answers %v, want exactly 1 ok and %d refusals", answers, n-1)
	}
}

// checkHandshakeFlood opens more Engine.IO sessions than the portal lets one address hold
// without logging in (default 256) from 127.0.0.2: the surplus, polling or websocket, is
// refused with 429, while a participant from 127.0.0.1 still joins. The flood's sessions are
// then closed.
func checkHandshakeFlood(ctx context.Context, t *testing.T, portal string, svc e2eutil.RESTClient, room string) {
	const limit, extra = 256, 20
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dialer.DialContext}}
	defer hc.CloseIdleConnections()
	get := func(query string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+portal+"/socket.io/?"+query, nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	var sids []string
	refused := map[string]int{}
	for range limit + extra {
		status, body := get("EIO=4&transport=polling")
		if status != http.StatusOK {
			refused[fmt.Sprintf("%d %s", status, body)]++
			continue
		}
		var open struct{ SID string }
		if err := json.Unmarshal([]byte(strings.TrimPrefix(body, "0")), &open); err != nil || open.SID == "" {
			t.Fatalf("handshake answer %q", body)
		}
		sids = append(sids, open.SID)
	}
	if status, body := get("EIO=3&transport=websocket"); status != http.StatusTooManyRequests {
		t.Errorf("websocket handshake during the flood: %d %s", status, body)
	}
	t.Logf("%d sessions opened from one address, refused: %v", len(sids), refused)
	want := fmt.Sprintf(`%d {"code":3,"message":"Too many unauthenticated sessions"}`, http.StatusTooManyRequests)
	if len(sids) != limit || refused[want] != extra {
		t.Fatalf("%d sessions opened and refusals %v; want %d opened and %d × %s", len(sids), refused, limit, extra, want)
	}
	c, _ := participant.JoinReady(ctx, t, func() string { return svc.MustToken(t, room, "flood-bystander", "presenter", "") }, signalingOnly())
	if err := c.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	for _, sid := range sids { // Engine.IO close packet
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+portal+"/socket.io/?EIO=4&transport=polling&sid="+sid, strings.NewReader("1"))
		if resp, err := hc.Do(req); err == nil {
			_ = resp.Body.Close()
		}
	}
	if status, body := get("EIO=4&transport=polling"); status != http.StatusOK {
		t.Fatalf("handshake after the flood's sessions closed: %d %s", status, body)
	}
}
