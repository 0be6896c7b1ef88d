package whip

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/iceconfig"
)

func TestWHIPRefusalStatus(t *testing.T) {
	tests := map[string]int{
		"Invalid token":             http.StatusUnauthorized,
		"Invalid token signature":   http.StatusUnauthorized,
		"Expired":                   http.StatusUnauthorized,
		"unauthorized":              http.StatusForbidden,
		"Video is forbiden":         http.StatusForbidden,
		"Stream does NOT exist":     http.StatusNotFound,
		"no proper codec: mid 0":    http.StatusNotAcceptable,
		"Room is full":              http.StatusServiceUnavailable,
		"No webrtc agent available": http.StatusServiceUnavailable,
		"Portal is not ready":       http.StatusServiceUnavailable,
		"bad SDP: x":                http.StatusBadRequest,
		"something nobody expected": http.StatusInternalServerError,
	}
	for msg, want := range tests {
		if got := refusal(msg); got.Status != want || got.Message != msg {
			t.Errorf("refusal(%q) = %d %q, want %d", msg, got.Status, got.Message, want)
		}
	}
}

func TestWHIPErrorBody(t *testing.T) {
	rec := httptest.NewRecorder()
	writeError(rec, errNoBearer)
	var body struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error.Code != 1101 || body.Error.Message == "" {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
	if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("status %d, challenge %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

func TestWHIPLinks(t *testing.T) {
	s := New(Config{ICEServers: iceconfig.NewIssuer([]string{"stun:127.0.0.1:3478", "turn:127.0.0.1:3478?transport=udp"}, "secret", time.Hour)}, nil, nil, nil)
	links := s.links("participant")
	if len(links) != 2 || links[0] != `<stun:127.0.0.1:3478>; rel="ice-server"` ||
		!strings.HasPrefix(links[1], `<turn:127.0.0.1:3478?transport=udp>; rel="ice-server"; username="`) ||
		!strings.HasSuffix(links[1], `; credential-type="password"`) {
		t.Fatalf("links %q", links)
	}
	if got := New(Config{}, nil, nil, nil).links("p"); len(got) != 0 {
		t.Fatalf("links without ICE servers: %q", got)
	}
}

func TestWHIPSocketRoutesProgress(t *testing.T) {
	s := newSocket("p1")
	s.watch("t1")
	emit := func(v string) { _ = s.Emit("progress", json.RawMessage(v)) }
	emit(`{"id":"other","status":"soac","data":{"type":"answer","sdp":"x"}}`)
	emit(`{"id":"t1","status":"soac","data":{"type":"answer","sdp":"v=0"}}`)
	emit(`{"id":"t1","status":"soac","data":{"type":"answer","sdp":"second"}}`) // dropped: one at a time
	if got := <-s.answers; got != "v=0" {
		t.Fatalf("answer %q", got)
	}
	select {
	case <-s.ended:
		t.Fatal("ended without an error")
	default:
	}
	emit(`{"id":"t1","status":"error","data":"Source stream loss"}`)
	<-s.ended
	if s.why() != "Source stream loss" {
		t.Fatalf("reason %q", s.why())
	}
	s.Disconnect() // a second end keeps the first reason
	if s.why() != "Source stream loss" {
		t.Fatalf("reason after Disconnect %q", s.why())
	}
}
