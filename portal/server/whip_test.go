package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/common/streamkey"
)

const whipTestOffer = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ice-ufrag:uf\r\na=ice-pwd:pw\r\na=sendonly\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=sendonly\r\n"

// whipDo sends one request to the portal and returns the answer with its body read.
func (e *env) whipDo(method, path, ctype, bearer, body string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res, string(data)
}

// joinedUsers returns the users of the agent's conf.join requests.
func (e *env) joinedUsers() []string {
	var out []string
	for _, raw := range e.agent.requestsOf(protocol.MethodJoin) {
		var j protocol.JoinRequest
		_ = json.Unmarshal(raw, &j)
		out = append(out, j.Participant.User)
	}
	return out
}

func TestPortalWHIPSession(t *testing.T) {
	e := newEnv(t, nil)
	res, body := e.whipDo("POST", "/whip", "application/sdp", e.token(time.Now()), whipTestOffer)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusCreated || body != "v=0\r\nanswer" || !strings.HasPrefix(loc, "/whip/sessions/") ||
		res.Header.Get("ETag") == "" || res.Header.Get("Content-Type") != "application/sdp" {
		t.Fatalf("POST: %d %q, headers %v", res.StatusCode, body, res.Header)
	}
	var pub protocol.PublishRequest
	_ = json.Unmarshal(e.agent.requestsOf(protocol.MethodPublish)[0], &pub)
	if len(pub.Tracks) != 2 || pub.Tracks[0].Mid != "0" || pub.Tracks[1].Type != "video" {
		t.Fatalf("publish %+v: want the offer's two tracks with their mids", pub)
	}
	if n := e.portal.WHIPSessions(); n != 1 {
		t.Fatalf("%d sessions", n)
	}

	frag := "a=ice-ufrag:uf\r\na=ice-pwd:pw\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 1 127.0.0.1 5000 typ host\r\n"
	if res, body := e.whipDo("PATCH", loc, "application/trickle-ice-sdpfrag", "", frag); res.StatusCode != http.StatusNoContent {
		t.Fatalf("PATCH: %d %s", res.StatusCode, body)
	}
	if res, _ := e.whipDo("PATCH", loc, "application/sdp", "", frag); res.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("PATCH with the wrong type: %d", res.StatusCode)
	}
	var cand protocol.SignalingRequest
	soacs := e.agent.requestsOf(protocol.MethodSignaling)
	_ = json.Unmarshal(soacs[len(soacs)-1], &cand)
	if cand.Signaling.Type != "candidate" || !strings.Contains(string(cand.Signaling.Candidate), "a=candidate:1 1 udp") {
		t.Fatalf("trickled %+v", cand)
	}

	if res, _ := e.whipDo("DELETE", loc, "", "", ""); res.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d", res.StatusCode)
	}
	if !slices.Contains(e.agent.leftParticipants(), pub.ParticipantID) {
		t.Fatalf("left %v, want %s after the DELETE", e.agent.leftParticipants(), pub.ParticipantID)
	}
	if res, _ := e.whipDo("DELETE", loc, "", "", ""); res.StatusCode != http.StatusNotFound {
		t.Fatalf("second DELETE: %d", res.StatusCode)
	}
	if n, c := e.portal.WHIPSessions(), e.portal.Participants(); n != 0 || c != 0 {
		t.Fatalf("%d sessions, %d participants left", n, c)
	}
}

func TestPortalWHIPStreamKey(t *testing.T) {
	e := newEnv(t, nil)
	k := store.StreamKey{ID: ids.ObjectID(), ServiceID: ids.ObjectID(), RoomID: e.roomID, User: "obs",
		Role: "presenter", Created: time.Now()}
	key, hash := streamkey.New(k.ID)
	k.Hash = hash
	if err := e.store.CreateStreamKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	for range 2 { // a key is not used up
		res, body := e.whipDo("POST", "/whip", "application/sdp", key, whipTestOffer)
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("POST with the key: %d %s", res.StatusCode, body)
		}
		if res, _ := e.whipDo("DELETE", res.Header.Get("Location"), "", "", ""); res.StatusCode != http.StatusOK {
			t.Fatalf("DELETE: %d", res.StatusCode)
		}
	}
	if users := e.joinedUsers(); len(users) != 2 || users[0] != "obs" {
		t.Fatalf("joined as %v, want the key's user twice", users)
	}
	id, _, _ := streamkey.Parse(key)
	wrong, _ := streamkey.New(id) // the right id with another secret
	if res, _ := e.whipDo("POST", "/whip", "application/sdp", wrong, whipTestOffer); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d", res.StatusCode)
	}
	if err := e.store.DeleteStreamKey(context.Background(), k.ServiceID, k.RoomID, k.ID); err != nil {
		t.Fatal(err)
	}
	if res, _ := e.whipDo("POST", "/whip", "application/sdp", key, whipTestOffer); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked key: %d", res.StatusCode)
	}
	if n := len(e.joinedUsers()); n != 2 {
		t.Fatalf("%d joins: refused keys must not join", n)
	}
}
