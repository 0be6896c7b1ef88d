package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/iceconfig"
	"github.com/conclave-rtc/conclave/common/turncred"
)

func TestICEServers(t *testing.T) {
	urls := []string{"stun:turn.example.org:3478", "turn:turn.example.org:3478?transport=udp", "turn:turn.example.org:3478?transport=tcp"}
	e := newEnv(t, func(c *Config) { c.ICEServers = iceconfig.NewIssuer(urls, "s3cret", time.Hour) })
	for _, path := range []string{"/v1/iceservers?user=alice", "/v1.1/iceservers?user=alice"} {
		rec := e.as(e.svc, "GET", path, "")
		wantOK(t, rec)
		var got struct {
			ICEServers []iceconfig.Server `json:"iceServers"`
			Expires    time.Time          `json:"expires"`
			TTL        int64              `json:"ttl"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if len(got.ICEServers) != 2 || got.ICEServers[0].Username != "" || len(got.ICEServers[1].URLs) != 2 {
			t.Fatalf("%s: %s", path, rec.Body)
		}
		turn := got.ICEServers[1]
		if user, err := turncred.Check("s3cret", turn.Username, time.Now()); err != nil || user != "alice" ||
			turn.Credential != turncred.Password("s3cret", turn.Username) {
			t.Fatalf("credentials %+v: %q %v", turn, user, err)
		}
		if got.TTL != 3600 || time.Until(got.Expires) <= 59*time.Minute {
			t.Fatalf("expiry %v, ttl %d", got.Expires, got.TTL)
		}
	}
	wantError(t, e.as(e.svc, "GET", "/v1/iceservers", ""), http.StatusBadRequest, 1301)
	wantError(t, e.as(e.svc, "GET", "/v1/iceservers?user="+strings.Repeat("a", 129), ""), http.StatusBadRequest, 1301)
	wantError(t, e.as(e.svc, "GET", "/v1/iceservers?user=a%00b", ""), http.StatusBadRequest, 1301)
	wantError(t, e.do("GET", "/v1/iceservers?user=alice", "", ""), http.StatusUnauthorized, 1101)

	none := newEnv(t, nil)
	rec := none.as(none.svc, "GET", "/v1/iceservers?user=alice", "")
	wantOK(t, rec)
	if body := strings.TrimSpace(rec.Body.String()); body != `{"iceServers":[]}` {
		t.Fatalf("without ICE servers: %s", body)
	}
}
