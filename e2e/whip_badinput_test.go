package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/internal/e2eutil"
)

// whipOffer is a syntactically complete offer (as GStreamer's webrtcbin writes them) whose
// ICE and DTLS never start: enough for the endpoint to join, publish and negotiate.
const whipOffer = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=setup:actpass\r\na=mid:0\r\n" +
	"a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=rtcp-mux\r\na=sendonly\r\n" +
	"a=rtpmap:111 opus/48000/2\r\n" +
	"a=fingerprint:sha-256 D6:6D:5E:16:32:F0:09:85:DC:91:DB:F3:69:55:1C:34:9C:4A:63:67:3C:3F:0F:E8:30:FF:2F:9C:6A:3C:8E:38\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=setup:actpass\r\na=mid:1\r\n" +
	"a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=rtcp-mux\r\na=sendonly\r\n" +
	"a=rtpmap:96 VP8/90000\r\n" +
	"a=fingerprint:sha-256 D6:6D:5E:16:32:F0:09:85:DC:91:DB:F3:69:55:1C:34:9C:4A:63:67:3C:3F:0F:E8:30:FF:2F:9C:6A:3C:8E:38\r\n"

// checkWHIPStatus sends one request to the portal and checks its status (and, for errors,
// that the body is the OWT error envelope).
func checkWHIPStatus(t *testing.T, w *whipRoom, method, target, ctype, auth, body string, want int) string {
	t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = w.srv.portal + target
	}
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	res, err := w.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, target, res.StatusCode, data, want)
	}
	if want >= 400 && !strings.Contains(string(data), `"error":{"code":`) {
		t.Fatalf("%s %s: body %s is not an OWT error", method, target, data)
	}
	if want == http.StatusUnauthorized && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("%s %s: 401 without a Bearer challenge", method, target)
	}
	return string(data)
}

// checkWHIPBadInput sends refused requests; none may leave a participant or a transport.
func checkWHIPBadInput(t *testing.T, w *whipRoom) {
	t.Helper()
	noMedia := strings.Replace(strings.Replace(whipOffer, "m=audio", "m=application", 1), "m=video 9", "m=video 0", 1)
	noMedia = strings.Replace(noMedia, "a=bundle-only\r\n", "", -1)
	cases := []struct {
		name, method, path, ctype, body string
		auth                            func() string
		want                            int
	}{
		{"garbage SDP", "POST", "/whip", "application/sdp", "hello\r\nworld", w.tokenFn(t, "presenter"), http.StatusBadRequest},
		{"empty SDP", "POST", "/whip", "application/sdp", "", w.tokenFn(t, "presenter"), http.StatusBadRequest},
		{"no audio or video", "POST", "/whip", "application/sdp", noMedia, w.tokenFn(t, "presenter"), http.StatusNotAcceptable},
		{"recvonly offer to WHIP", "POST", "/whip", "application/sdp", strings.ReplaceAll(whipOffer, "a=sendonly", "a=recvonly"), w.tokenFn(t, "presenter"), http.StatusNotAcceptable},
		{"no codec the room allows", "POST", "/whip", "application/sdp", strings.ReplaceAll(whipOffer, "VP8/90000", "H265/90000"), w.tokenFn(t, "presenter"), http.StatusNotAcceptable},
		{"sendrecv offer to WHIP", "POST", "/whip", "application/sdp", strings.ReplaceAll(whipOffer, "a=sendonly", "a=sendrecv"), w.tokenFn(t, "presenter"), http.StatusNotAcceptable},
		{"wrong content type", "POST", "/whip", "application/json", whipOffer, w.tokenFn(t, "presenter"), http.StatusUnsupportedMediaType},
		{"no token", "POST", "/whip", "application/sdp", whipOffer, func() string { return "" }, http.StatusUnauthorized},
		{"garbage token", "POST", "/whip", "application/sdp", whipOffer, func() string { return "not-a-token" }, http.StatusUnauthorized},
		{"used token", "POST", "/whip", "application/sdp", whipOffer, w.usedToken(t), http.StatusUnauthorized},
		{"unknown stream key", "POST", "/whip", "application/sdp", whipOffer, func() string { return "csk_0123456789abcdef01234567_" + strings.Repeat("ab", 32) }, http.StatusUnauthorized},
		{"viewer may not publish", "POST", "/whip", "application/sdp", whipOffer, w.tokenFn(t, "viewer"), http.StatusForbidden},
		{"unknown stream", "POST", "/whep/nosuchstream", "application/sdp", strings.ReplaceAll(whipOffer, "a=sendonly", "a=recvonly"), w.tokenFn(t, "viewer"), http.StatusNotFound},
		{"no mixed view of that name", "POST", "/whep?view=nosuchview", "application/sdp", strings.ReplaceAll(whipOffer, "a=sendonly", "a=recvonly"), w.tokenFn(t, "viewer"), http.StatusNotFound},
		{"PATCH unknown session", "PATCH", "/whip/sessions/0123", "application/trickle-ice-sdpfrag", "a=ice-ufrag:x\r\na=ice-pwd:y\r\n", func() string { return "" }, http.StatusNotFound},
		{"DELETE unknown session", "DELETE", "/whep/sessions/0123", "", "", func() string { return "" }, http.StatusNotFound},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			checkWHIPStatus(t, w, c.method, c.path, c.ctype, c.auth(), c.body, c.want)
		})
	}
	checkWHIPRoomFull(t, w)
	checkWHIPStatus(t, w, "OPTIONS", "/whip", "", "", "", http.StatusNoContent)
	checkWHIPStatus(t, w, "OPTIONS", "/whep/sessions/0123", "", "", "", http.StatusNoContent)
}

// tokenFn returns a function making a fresh token of role (tokens are made when the case
// runs, so none expires while earlier cases run).
func (w *whipRoom) tokenFn(t *testing.T, role string) func() string {
	return func() string { return w.token(t, "bad-"+role, role) }
}

// usedToken returns a function giving a token that was already used by a login.
func (w *whipRoom) usedToken(t *testing.T) func() string {
	return func() string {
		tok := w.token(t, "twice", "presenter")
		checkWHIPStatus(t, w, "POST", "/whep/nosuchstream", "application/sdp", tok,
			strings.ReplaceAll(whipOffer, "a=sendonly", "a=recvonly"), http.StatusNotFound)
		return tok
	}
}

// checkWHIPRoomFull fills a room of one participant with a WHIP session: the next POST is
// refused with 503 and leaves nothing; the first session ends with its DELETE.
func checkWHIPRoomFull(t *testing.T, w *whipRoom) {
	t.Helper()
	var room struct {
		ID string `json:"_id"`
	}
	e2eutil.Must(t, w.srv.api.Do(t, "POST", "/v1/rooms", map[string]any{"name": "full", "options": map[string]any{"participantLimit": 1}}),
		http.StatusOK).Decode(t, &room)
	token := func() string { return w.srv.api.MustToken(t, room.ID, "enc", "presenter", "") }
	req, err := http.NewRequest("POST", w.srv.portal+"/whip", strings.NewReader(whipOffer))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+token())
	res, err := w.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusCreated || res.Header.Get("Location") == "" {
		t.Fatalf("first POST into the room of one: %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	checkWHIPStatus(t, w, "POST", "/whip", "application/sdp", token(), whipOffer, http.StatusServiceUnavailable)
	checkWHIPStatus(t, w, "DELETE", res.Header.Get("Location"), "", "", "", http.StatusOK)
	// Deleting the room ends it now (an empty room would stay live for 30 s).
	e2eutil.Must(t, w.srv.api.Do(t, "DELETE", "/v1/rooms/"+room.ID, nil), http.StatusOK)
}
