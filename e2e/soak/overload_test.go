package soak

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/client/sio"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
)

// TestOverloadRESTRateLimit floods the management API as one service with a per-service rate
// limit of 2 requests/s (burst 4): the excess is answered 429 with OWT code 1102 and a
// message, another service is served meanwhile, and the flooding service is served again once
// its bucket refills.
func TestOverloadRESTRateLimit(t *testing.T) {
	srv := startAllInOne(t, "management:\n  rateLimit: 2\n")
	flood := srv.super.CreateService(t, "flood")
	quiet := srv.super.CreateService(t, "quiet")
	var ok, limited int
	for range 30 {
		r := flood.Do(t, "GET", "/v1/rooms", nil)
		switch r.Status {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			limited++
			if r.ErrorCode() != 1102 || !strings.Contains(r.ErrorMessage(), "Too many requests") {
				t.Fatalf("rate-limited answer %s, want code 1102 and a message", r.Body)
			}
		default:
			t.Fatalf("unexpected answer %d %s", r.Status, r.Body)
		}
	}
	t.Logf("30 back-to-back requests: %d served, %d answered 429", ok, limited)
	if limited == 0 || ok == 0 {
		t.Fatalf("served %d, limited %d: want both", ok, limited)
	}
	// The other service has its own bucket.
	for range 3 {
		e2eutil.Must(t, quiet.Do(t, "GET", "/v1/rooms", nil), http.StatusOK)
	}
	begin := time.Now()
	e2eutil.WaitUntil(t, "flooding service served again", 30*time.Second, func() bool {
		return flood.Do(t, "GET", "/v1/rooms", nil).Status == http.StatusOK
	}, srv.proc)
	t.Logf("flooding service served again after %s", time.Since(begin).Round(time.Millisecond))
}

// TestOverloadPortalEventFlood sends events far faster than the portal's per-socket limit
// (50/s, burst 100): the portal closes that socket and its participant leaves, while a
// participant of the same room keeps being served.
func TestOverloadPortalEventFlood(t *testing.T) {
	srv := startAllInOne(t, "")
	room := srv.super.CreateRoom(t, "flood")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	good, _ := participant.JoinReady(ctx, t, func() string { return srv.super.MustToken(t, room, "good", "presenter", "") }, signalingOnly())
	bad, ack := rawLogin(ctx, t, srv.portal, srv.super.MustToken(t, room, "flooder", "presenter", ""))
	if st, detail := ackStatus(ack); st != "ok" {
		t.Fatalf("flooder login: %s %s", st, detail)
	}
	sent := 0
	for i := 0; i < 5000; i++ {
		if bad.Send("text", map[string]string{"to": "all", "message": "spam"}) != nil {
			break
		}
		sent++
	}
	took := waitClosed(t, "flooding socket", bad.Done())
	t.Logf("flooding socket closed (%q) %s after %d events were sent", bad.Reason(), took.Round(time.Millisecond), sent)
	if bad.Reason() == sio.ReasonClientDisconnect {
		t.Fatal("the flooding socket was closed by the e2eutil.RESTClient, not the portal")
	}
	if err := good.Send(ctx, "all", "still here"); err != nil {
		t.Fatalf("well-behaved participant: %v", err)
	}
	e2eutil.WaitUntil(t, "flooder left the room", 30*time.Second, func() bool {
		r, err := srv.super.Try("GET", "/v1/rooms/"+room+"/participants", nil)
		return err == nil && r.Status == http.StatusOK && strings.Count(string(r.Body), `"id"`) == 1
	}, srv.proc)
}
