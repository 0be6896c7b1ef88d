package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
)

// badBodies are request bodies a client may get wrong: broken JSON, wrong shapes and types,
// unknown paths and values, control characters.
var badBodies = []string{
	``, `{`, `null`, `"x"`, `123`, `[]`, `{}`, `[1]`, `{"a":` + strings.Repeat("[", 200) + `}`,
	`[{"op":"add","path":"/info/inViews","value":"nope"}]`,
	`[{"op":"add","path":"/info/inViews","value":"common"}]`,
	`[{"op":"remove","path":"/info/inViews","value":"common"}]`,
	`[{"op":"replace","path":"/media/video/status","value":"maybe"}]`,
	`[{"op":"replace","path":"/media/audio/status","value":"inactive"}]`,
	`[{"op":"replace","path":"/info/layout","value":[{"stream":"nope","region":{"id":"1","area":{"left":"0","top":"0","width":"1","height":"1"}}}]}]`,
	`[{"op":"replace","path":"/info/layout/9/stream","value":"nope"}]`,
	`[{"op":"replace","path":"/permission/publish","value":{"audio":"yes"}}]`,
	`[{"op":"replace","path":"/media/video/from","value":"nope"}]`,
	`{"user":"a\u0000b","role":"presenter"}`,
	`{"user":"alice","role":"nope"}`,
	`{"name":1}`,
	`{"connection":{"url":"ftp://x"},"media":{"audio":"auto","video":"auto"}}`,
	`{"url":"rtmp://127.0.0.1:1/x","media":{"audio":{"from":"nope"},"video":{"from":"nope"}}}`,
	`{"container":"avi","media":{"audio":{"from":"nope"}}}`,
	`{"peerURI":"sip:a@b","mediaIn":{"audio":true,"video":false},"mediaOut":{"audio":{"from":"nope"},"video":false}}`,
	`{"algorithm":"x","media":{"video":{"from":"nope"}}}`,
}

// TestE2ERESTBadInput sends wrong requests to every management API route of a live room and
// of an idle one on the all-in-one binary: a request's content never causes a 5xx (client
// mistakes are 4xx with OWT's error body), and unknown sip calls and analytics answer the
// same whether the room is live or not.
func TestE2ERESTBadInput(t *testing.T) {
	srv := startRealtimeAllInOne(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	live, idle := srv.api.CreateRoom(t, "live"), srv.api.CreateRoom(t, "idle")
	c, _ := participant.JoinReady(ctx, t, func() string { return srv.api.MustToken(t, live, "alice", "presenter", "") },
		participant.Options(rtc.Events{}))
	defer c.Close()
	pub, err := c.Publish(ctx, participant.ClipTracks(t, webrtc.MimeTypeVP8), rtc.PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pollREST(t, srv.api, "/v1/rooms/"+live+"/streams/"+pub.ID(), 10*time.Second, func(r e2eutil.Response) bool { return r.Status == 200 })

	statuses := map[int]int{}
	for _, room := range []string{live, idle} {
		base := "/v1/rooms/" + room
		paths := []string{base, base + "/tokens", base + "/participants", base + "/participants/nope",
			base + "/streams", base + "/streams/nope", base + "/streams/" + room + "-common",
			base + "/streaming-ins", base + "/streaming-ins/nope", base + "/streaming-outs", base + "/streaming-outs/nope",
			base + "/recordings", base + "/recordings/nope", base + "/sipcalls", base + "/sipcalls/nope",
			base + "/analytics", base + "/analytics/nope", "/v1.1/rooms/" + room + "/streams/" + pub.ID()}
		if room == live {
			paths = append(paths, base+"/streams/"+pub.ID(), base+"/participants/"+participantOf(t, srv.api, live))
		}
		for _, path := range paths {
			for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch} {
				for _, body := range badBodies {
					statuses[checkNotServerError(t, srv.api, method, path, body)]++
				}
			}
		}
	}
	t.Logf("answers by status: %v", statuses)
	// Deletes of what does not exist, and of the mixed stream (it lives as long as the room).
	for _, path := range []string{"/streams/nope", "/streams/" + live + "-common", "/participants/nope",
		"/streaming-ins/nope", "/streaming-outs/nope", "/recordings/nope", "/sipcalls/nope", "/analytics/nope"} {
		checkNotServerError(t, srv.api, http.MethodDelete, "/v1/rooms/"+live+path, "")
	}
	// Streaming targets the egress policy forbids (the test config allows only 127.0.0.1) are the
	// client's mistake, answered as the streaming agent refused them: 403/1301 naming the address.
	media := `"media":{"audio":{"from":"` + pub.ID() + `"},"video":{"from":"` + pub.ID() + `"}}`
	for _, tc := range []struct{ path, body, addr string }{
		{"/v1.1/rooms/" + live + "/streaming-ins", `{"connection":{"url":"rtsp://10.1.2.3/cam"},"media":{"audio":"auto","video":"auto"}}`, "10.1.2.3"},
		{"/v1.1/rooms/" + idle + "/streaming-ins", `{"connection":{"url":"http://169.254.169.254/latest/meta-data"},"media":{"audio":"auto","video":"auto"}}`, "169.254.169.254"},
		{"/v1/rooms/" + live + "/streaming-outs", `{"url":"rtmp://192.168.7.7/live/secret-key",` + media + `}`, "192.168.7.7"},
	} {
		r, err := srv.api.Try(http.MethodPost, tc.path, []byte(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusForbidden || r.ErrorCode() != 1301 || !strings.Contains(r.ErrorMessage(), tc.addr) ||
			strings.Contains(string(r.Body), "secret-key") {
			t.Errorf("POST %s %s: %d %s", tc.path, tc.body, r.Status, r.Body)
		}
	}
	for _, kind := range []string{"sipcalls", "analytics"} {
		for _, method := range []string{http.MethodDelete, http.MethodPatch} {
			a := srv.api.Do(t, method, "/v1/rooms/"+live+"/"+kind+"/nope", []map[string]string{{"op": "replace", "path": "/output/media/audio/from", "value": "x"}})
			b := srv.api.Do(t, method, "/v1/rooms/"+idle+"/"+kind+"/nope", []map[string]string{{"op": "replace", "path": "/output/media/audio/from", "value": "x"}})
			if a.Status != b.Status || a.ErrorCode() != b.ErrorCode() || a.ErrorMessage() != b.ErrorMessage() {
				t.Errorf("%s %s/nope: live room %d/%d %q, idle room %d/%d %q", method, kind,
					a.Status, a.ErrorCode(), a.ErrorMessage(), b.Status, b.ErrorCode(), b.ErrorMessage())
			}
		}
	}
}

// participantOf returns the id of the room's only participant.
func participantOf(t *testing.T, api e2eutil.RESTClient, room string) string {
	t.Helper()
	var ps []struct{ ID string }
	e2eutil.Must(t, api.Do(t, http.MethodGet, "/v1/rooms/"+room+"/participants", nil), http.StatusOK).Decode(t, &ps)
	if len(ps) != 1 {
		t.Fatalf("participants %+v", ps)
	}
	return ps[0].ID
}

// checkNotServerError sends a raw body and fails on a 5xx (a request that the route accepts
// as valid may succeed: only server errors are wrong here).
func checkNotServerError(t *testing.T, api e2eutil.RESTClient, method, path, body string) int {
	t.Helper()
	var b any
	if body != "" {
		b = []byte(body) // sent as it is
	}
	r, err := api.Try(method, path, b)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if r.Status >= 500 {
		t.Errorf("%s %s %.80q: %d %s", method, path, body, r.Status, r.Body)
	}
	if r.Status >= 400 && r.ErrorCode() == 0 && r.Status != http.StatusNotFound {
		t.Errorf("%s %s %.80q: %d without an OWT error body: %s", method, path, body, r.Status, r.Body)
	}
	return r.Status
}
