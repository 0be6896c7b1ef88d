package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
)

func TestMAuthVectorByHand(t *testing.T) {
	// owt-protocol.md §2.4 test vector, through the test's own signer.
	h := signHeader("x", "samplekey", 1700000000000, "12345", "", "")
	want := "MDUyNDAyODNlZTg0OTNiYjkwNGM0NmU2YTNjMWVkYmFhOTlhMjI0OWI4NDMxYmNhMDc5NWQ0NDAyOWU2MzE5YQ=="
	if !strings.HasSuffix(h, ",mauth_signature="+want) {
		t.Fatalf("header %s does not end with the vector signature", h)
	}
}

func TestMAuthRejections(t *testing.T) {
	e := newEnv(t, nil)
	now := time.Now().UnixMilli()
	used := signHeader(e.svc.ID, serviceKey, now, "8", "", "")
	wantOK(t, e.do("GET", "/v1/rooms", used, ""))
	cases := []struct{ name, header, reason string }{
		{"none", "", "missing Authorization header"},
		{"garbage", "Bearer abc", "malformed Authorization header"},
		{"unknown service", signHeader(ids.ObjectID(), serviceKey, now, "1", "", ""), "unknown service"},
		{"non-hex service id", signHeader("not-an-object-id-at-all!", serviceKey, now, "1", "", ""), "malformed Authorization header"},
		{"wrong key", signHeader(e.svc.ID, "other", now, "1", "", ""), "bad signature"},
		{"wrong method", strings.Replace(signHeader(e.svc.ID, serviceKey, now, "1", "", ""), "HMAC_SHA256", "HMAC_SHA1", 1), "bad signature"},
		{"tampered", signHeader(e.svc.ID, serviceKey, now, "1", "", "") + "x", "bad signature"},
		{"stale", signHeader(e.svc.ID, serviceKey, now-3600_000, "1", "", ""), "stale timestamp"},
		{"replayed", used, "request already used"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := e.do("GET", "/v1/rooms", c.header, "")
			msg := wantError(t, rec, http.StatusUnauthorized, 1101)
			if !strings.HasPrefix(msg, "Authentication failed: "+c.reason) {
				t.Fatalf("message %q, want the reason %q", msg, c.reason)
			}
			if h := rec.Header().Get("WWW-Authenticate"); h != `MAuth realm="http://marte3.dit.upm.es"` {
				t.Fatalf("WWW-Authenticate %q", h)
			}
			if strings.Contains(msg, serviceKey) || strings.Contains(msg, "other") {
				t.Fatalf("the message reveals key material: %q", msg)
			}
		})
	}
	// A signed request with user and role is accepted.
	wantOK(t, e.do("GET", "/v1/rooms", signHeader(e.svc.ID, serviceKey, now, "9", "alice", "presenter"), ""))
	// Services routes and unknown room sub-paths are authenticated too.
	wantError(t, e.do("GET", "/services", "", ""), 401, 1101)
	wantError(t, e.do("GET", "/v1/rooms/abc/nothing", "", ""), 401, 1101)
}

// TestMAuthReplayProtection: by default a captured Authorization header works once, on every
// instance sharing the store, and only within ±5 minutes of its timestamp; a window of 0 is
// OWT 5.1's behaviour (no check).
func TestMAuthReplayProtection(t *testing.T) {
	e := newEnv(t, nil)
	if e.srv.cfg.ReplayWindow != 5*time.Minute {
		t.Fatalf("default replay window %v", e.srv.cfg.ReplayWindow)
	}
	other, err := New(e.srv.cfg, Deps{Store: e.st, Bus: e.bus, Scheduler: e.sched, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	second := *e
	second.srv, second.h = other, other.Handler()
	h := signHeader(e.svc.ID, serviceKey, time.Now().UnixMilli(), "42", "", "")
	wantOK(t, e.do("GET", "/v1/rooms", h, ""))
	wantError(t, e.do("GET", "/v1/rooms", h, ""), 401, 1101)      // the same header again
	wantError(t, second.do("GET", "/v1/rooms", h, ""), 401, 1101) // replayed to another instance
	wantError(t, e.do("POST", "/v1/rooms", h, `{"name":"r"}`), 401, 1101)
	fresh := signHeader(e.svc.ID, serviceKey, time.Now().UnixMilli(), "43", "", "")
	wantOK(t, second.do("GET", "/v1/rooms", fresh, ""))
	for _, skew := range []time.Duration{-6 * time.Minute, 6 * time.Minute, -10 * 365 * 24 * time.Hour} {
		old := signHeader(e.svc.ID, serviceKey, time.Now().Add(skew).UnixMilli(), "44", "", "")
		wantError(t, e.do("GET", "/v1/rooms", old, ""), 401, 1101)
	}
	within := signHeader(e.svc.ID, serviceKey, time.Now().Add(4*time.Minute).UnixMilli(), "45", "", "")
	wantOK(t, e.do("GET", "/v1/rooms", within, ""))
	// The embedded store keeps claims in memory: after a (re)start, what was issued before
	// it may have been accepted by the previous process and is refused.
	before := signHeader(e.svc.ID, serviceKey, e.st.NoncesSince().Add(-time.Second).UnixMilli(), "47", "", "")
	wantError(t, e.do("GET", "/v1/rooms", before, ""), 401, 1101)

	owt := newEnv(t, func(c *Config) { c.ReplayWindow = 0 })
	h = signHeader(owt.svc.ID, serviceKey, time.Now().Add(-time.Hour).UnixMilli(), "46", "", "")
	wantOK(t, owt.do("GET", "/v1/rooms", h, ""))
	wantOK(t, owt.do("GET", "/v1/rooms", h, ""))
}

func TestMAuthRateLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RateLimit = 1 })
	wantOK(t, e.as(e.svc, "GET", "/v1/rooms", ""))
	wantOK(t, e.as(e.svc, "GET", "/v1/rooms", ""))
	wantError(t, e.as(e.svc, "GET", "/v1/rooms", ""), http.StatusTooManyRequests, 1102)
	// Another service has its own bucket.
	wantOK(t, e.as(e.super, "GET", "/v1/rooms", ""))
}

func TestServicesAsSuper(t *testing.T) {
	e := newEnv(t, nil)
	rec := e.as(e.super, "POST", "/services", `{"name":"acme","key":"k1"}`)
	wantOK(t, rec)
	var created serviceDoc
	mustJSON(t, rec.Body.Bytes(), &created)
	if created.Name != "acme" || !created.Encrypted || !ids.IsObjectID(created.ID) || created.Rooms == nil {
		t.Fatalf("created %+v", created)
	}
	if strings.Contains(rec.Body.String(), `"key"`) {
		t.Fatalf("key returned: %s", rec.Body)
	}
	wantError(t, e.as(e.super, "POST", "/services", `{"name":"acme","key":"k2"}`), 400, 1301)
	var list []serviceDoc
	rec = e.as(e.super, "GET", "/services/", "")
	wantOK(t, rec)
	mustJSON(t, rec.Body.Bytes(), &list)
	if len(list) != 3 {
		t.Fatalf("list = %+v", list)
	}
	// The new service can sign requests with its key.
	acme := store.Service{ID: created.ID, Key: "k1"}
	wantOK(t, e.as(acme, "GET", "/v1/rooms", ""))
	wantOK(t, e.as(e.super, "GET", "/services/"+created.ID, ""))
	rec = e.as(e.super, "DELETE", "/services/"+created.ID, "")
	wantOK(t, rec)
	if rec.Body.String() != "Service deleted" {
		t.Fatalf("delete body %q", rec.Body)
	}
	wantError(t, e.as(acme, "GET", "/v1/rooms", ""), 401, 1101)
	wantError(t, e.as(e.super, "GET", "/services/"+created.ID, ""), 404, 1002)
	wantError(t, e.as(e.super, "DELETE", "/services/"+created.ID, ""), 404, 1002)
	msg := wantError(t, e.as(e.super, "DELETE", "/services/"+e.super.ID, ""), 403, 1102)
	if msg != "Super service not permitted to be deleted" {
		t.Fatal(msg)
	}
}

func TestServicesAsNormalService(t *testing.T) {
	e := newEnv(t, nil)
	wantError(t, e.as(e.svc, "POST", "/services", `{"name":"x","key":"y"}`), 403, 1102)
	wantError(t, e.as(e.svc, "GET", "/services", ""), 403, 1102)
	wantError(t, e.as(e.svc, "DELETE", "/services/"+e.super.ID, ""), 403, 1102)
	wantError(t, e.as(e.svc, "GET", "/services/"+e.super.ID, ""), 403, 1102)
	rec := e.as(e.svc, "GET", "/services/"+e.svc.ID, "")
	wantOK(t, rec)
	var doc serviceDoc
	mustJSON(t, rec.Body.Bytes(), &doc)
	if doc.ID != e.svc.ID || doc.Name != "tenant" {
		t.Fatalf("%+v", doc)
	}
}

func TestServicesBodyValidation(t *testing.T) {
	e := newEnv(t, nil)
	for _, body := range []string{`{"name":"a"}`, `{"name":1,"key":"k"}`, `{"name":"a","key":""}`,
		`{"name":"a","key":"k","extra":1}`, `[]`, `{`} {
		wantError(t, e.as(e.super, "POST", "/services", body), 400, 1301)
	}
}

type serviceDoc struct {
	ID        string   `json:"_id"`
	Name      string   `json:"name"`
	Encrypted bool     `json:"encrypted"`
	Rooms     []string `json:"rooms"`
	V         *int     `json:"__v"`
}

type roomDoc struct {
	ID    string `json:"_id"`
	ID2   string `json:"id"`
	Name  string `json:"name"`
	Roles []struct {
		Role string `json:"role"`
	} `json:"roles"`
	InputLimit int  `json:"inputLimit"`
	V          *int `json:"__v"`
}

func mustJSON(t testing.TB, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
}

func TestRoomsCRUD(t *testing.T) {
	e := newEnv(t, nil)
	rec := e.as(e.svc, "POST", "/v1/rooms", `{"name":"r1","options":{"inputLimit":3}}`)
	wantOK(t, rec)
	var r roomDoc
	mustJSON(t, rec.Body.Bytes(), &r)
	if r.Name != "r1" || r.ID != r.ID2 || r.InputLimit != 3 || len(r.Roles) == 0 || r.V == nil {
		t.Fatalf("created %s", rec.Body)
	}
	for _, p := range []string{"/v1/rooms/" + r.ID, "/v1.1/rooms/" + r.ID + "/"} {
		rec = e.as(e.svc, "GET", p, "")
		wantOK(t, rec)
		var got roomDoc
		mustJSON(t, rec.Body.Bytes(), &got)
		if got.ID != r.ID || got.Name != "r1" {
			t.Fatalf("GET %s = %s", p, rec.Body)
		}
	}
	for _, method := range []string{"PUT", "PATCH"} {
		rec = e.as(e.svc, method, "/v1/rooms/"+r.ID, `{"name":"r1-`+method+`","_id":"ignored"}`)
		wantOK(t, rec)
		rec = e.as(e.svc, "GET", "/v1/rooms/"+r.ID, "")
		var got roomDoc
		mustJSON(t, rec.Body.Bytes(), &got)
		if got.Name != "r1-"+method || got.InputLimit != 3 {
			t.Fatalf("after %s: %s", method, rec.Body)
		}
	}
	wantError(t, e.as(e.svc, "PUT", "/v1/rooms/"+r.ID, `{"inputLimit":"many"}`), 400, 1301)
	// Another service cannot see the room.
	wantError(t, e.as(e.super, "GET", "/v1/rooms/"+r.ID, ""), 404, 1003)
	wantError(t, e.as(e.super, "DELETE", "/v1/rooms/"+r.ID, ""), 404, 1003)
	wantError(t, e.as(e.svc, "GET", "/v1/rooms/bad.id", ""), 404, 1003)
	wantError(t, e.as(e.svc, "GET", "/v1/rooms/"+ids.ObjectID(), ""), 404, 1003)
	rec = e.as(e.svc, "DELETE", "/v1/rooms/"+r.ID, "")
	wantOK(t, rec)
	if rec.Body.String() != "Room deleted" {
		t.Fatalf("delete body %q", rec.Body)
	}
	wantError(t, e.as(e.svc, "GET", "/v1/rooms/"+r.ID, ""), 404, 1003)
}

func TestRoomsCreateValidation(t *testing.T) {
	e := newEnv(t, nil)
	for _, body := range []string{`{}`, `{"name":""}`, `{"name":5}`, `{"name":"a","options":[]}`,
		`{"name":"a","bogus":1}`, `not json`, `{"name":"a"} trailing`} {
		wantError(t, e.as(e.svc, "POST", "/v1/rooms", body), 400, 1301)
	}
	req := e.do("POST", "/v1/rooms", e.authAs(e.svc), "")
	wantError(t, req, 400, 1301)
	// Wrong content type.
	r, _ := http.NewRequest("POST", "/v1/rooms", strings.NewReader(`{"name":"a"}`))
	r.Header.Set("Authorization", e.authAs(e.svc))
	r.Header.Set("Content-Type", "text/xml")
	wantError(t, e.serve(r, []byte(`{"name":"a"}`)), 400, 1301)
}

func TestRoomsPagination(t *testing.T) {
	e := newEnv(t, nil)
	var want []string
	for i := range 5 {
		want = append(want, e.createRoom(e.svc, fmt.Sprintf("p%d", i)))
	}
	slices.Sort(want) // rooms are listed by id
	e.createRoom(e.super, "other")
	cases := []struct {
		query string
		want  []string
	}{
		{"", want},
		{"?per_page=2", want[:2]},
		{"?page=2&per_page=2", want[2:4]},
		{"?page=3&per_page=2", want[4:]},
		{"?page=4&per_page=2", nil},
		{"?page=2", want},
		{"?page=0&per_page=0", want},
	}
	for _, c := range cases {
		rec := e.as(e.svc, "GET", "/v1/rooms"+c.query, "")
		wantOK(t, rec)
		var got []roomDoc
		mustJSON(t, rec.Body.Bytes(), &got)
		if len(got) != len(c.want) {
			t.Fatalf("%s: %d rooms, want %d", c.query, len(got), len(c.want))
		}
		for i := range got {
			if got[i].ID != c.want[i] {
				t.Fatalf("%s: room %d = %s, want %s", c.query, i, got[i].ID, c.want[i])
			}
		}
	}
	for _, q := range []string{"?page=x", "?per_page=-1", "?per_page=1.5", "?page=99999999999"} {
		wantError(t, e.as(e.svc, "GET", "/v1/rooms"+q, ""), 400, 1301)
	}
}

func TestOperations(t *testing.T) {
	e := newEnv(t, nil)
	wantOK(t, e.do("GET", "/healthz", "", ""))
	wantOK(t, e.do("GET", "/readyz", "", ""))
	rec := e.do("OPTIONS", "/v1/rooms/whatever", "", "")
	wantOK(t, rec)
	for k, v := range map[string]string{
		"Access-Control-Allow-Origin":  "*",
		"Access-Control-Allow-Methods": "POST, GET, OPTIONS, DELETE, PATCH, PUT",
		"Access-Control-Allow-Headers": "origin, authorization, content-type",
		"X-Content-Type-Options":       "nosniff",
	} {
		if got := rec.Header().Get(k); got != v {
			t.Fatalf("%s = %q", k, got)
		}
	}
	rec = e.do("GET", "/nowhere", "", "")
	if msg := wantError(t, rec, 404, 1001); msg != "Resource not found" {
		t.Fatal(msg)
	}
	if rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Fatal("no CORS on error")
	}
	e.as(e.svc, "GET", "/v1/rooms", "")
	rec = e.do("GET", "/metrics", "", "")
	wantOK(t, rec)
	if !strings.Contains(rec.Body.String(), `conclave_management_api_http_requests_total{code="200",method="GET",route="/v1/rooms"}`) {
		t.Fatalf("metrics lack the rooms route:\n%s", rec.Body)
	}
	e.st.down.Store(true)
	if rec := e.do("GET", "/readyz", "", ""); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("readyz = %d", rec.Code)
	}
}

func TestStoreOutage(t *testing.T) {
	e := newEnv(t, nil)
	wantOK(t, e.as(e.svc, "GET", "/v1/rooms", "")) // caches the service key
	e.st.down.Store(true)
	wantError(t, e.as(e.svc, "GET", "/v1/rooms", ""), 500, 1401)
	e2 := newEnv(t, func(c *Config) { c.CacheTTL = 0 })
	e2.st.down.Store(true)
	wantError(t, e2.as(e2.svc, "GET", "/v1/rooms", ""), 500, 1401)
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.BodyLimit = 1024 })
	big := `{"name":"` + strings.Repeat("a", 2048) + `"}`
	wantError(t, e.as(e.svc, "POST", "/v1/rooms", big), http.StatusRequestEntityTooLarge, 1301)
	// Within the default body limit but above what a room may be: 413 as well.
	d := newEnv(t, nil)
	room := `{"name":"a","pad":"` + strings.Repeat(" ", 475<<10) + `"}`
	wantError(t, d.as(d.svc, "POST", "/v1/rooms", room), http.StatusRequestEntityTooLarge, 1301)
	wantError(t, d.as(d.svc, "PUT", "/v1/rooms/"+d.createRoom(d.svc, "r"), room), http.StatusRequestEntityTooLarge, 1301)
}

func TestConfigValidation(t *testing.T) {
	good := DefaultConfig()
	good.SuperServiceID = ids.ObjectID()
	deps := Deps{Store: &flakyStore{}, Bus: nil, Scheduler: &fakeScheduler{}}
	if _, err := New(good, deps); err == nil {
		t.Fatal("nil bus accepted")
	}
	bad := []func(*Config){
		func(c *Config) { c.SuperServiceID = "short" },
		func(c *Config) { c.BodyLimit = -1 },
		func(c *Config) { c.RateLimit = -1 },
		func(c *Config) { c.CacheTTL = -time.Second },
	}
	for i, mod := range bad {
		c := good
		mod(&c)
		if err := c.withDefaults().Validate(); err == nil {
			t.Fatalf("case %d accepted", i)
		}
	}
}

func TestEnsureSuperService(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	s, created, err := EnsureSuperService(ctx, e.st, e.super.ID, superKey)
	if err != nil || created || s.Name != SuperServiceName {
		t.Fatalf("%+v %v %v", s, created, err)
	}
	if _, _, err := EnsureSuperService(ctx, e.st, e.super.ID, "other"); err != ErrSuperServiceKey {
		t.Fatalf("err = %v", err)
	}
	// Another id cannot take the name.
	if _, _, err := EnsureSuperService(ctx, e.st, ids.ObjectID(), superKey); err == nil {
		t.Fatal("second super service created")
	}
}

func TestRunServesAndStops(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Listen = "127.0.0.1:0" })
	if err := e.srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Run(ctx) }()
	resp, err := http.Get("http://" + e.srv.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz = %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
}

// TestTextFields: names, keys and token fields with control characters or invalid UTF-8
// are refused with 400/1301 naming the field, and nothing is stored.
func TestTextFields(t *testing.T) {
	e := newEnv(t, nil)
	room := e.createRoom(e.svc, "r")
	tests := []struct {
		svc        store.Service
		path, body string
		want       string // substring of the message
	}{
		{e.super, "/services", `{"name":"a\u0000b","key":"k"}`, "name must not contain control characters"},
		{e.super, "/services", `{"name":"ok","key":"k\u001b[2J"}`, "key must not contain control characters"},
		{e.super, "/services", "{\"name\":\"\xff\xfe\",\"key\":\"k\"}", "not valid UTF-8"},
		{e.svc, "/v1/rooms", `{"name":"a\u0000b"}`, "name must not contain control characters"},
		{e.svc, "/v1/rooms", `{"name":"\ufffd"}`, "name must be valid UTF-8"},
		{e.svc, "/v1/rooms", `{"name":"r","options":{"views":[{"label":"v\u0007"}]}}`, "views[0].label must not contain control characters"},
		{e.svc, "/v1/rooms/" + room + "/tokens", `{"user":"al\u0000ice","role":"presenter"}`, "user must not contain control characters"},
		{e.svc, "/v1/rooms/" + room + "/tokens", `{"user":"alice","role":"presenter","preference":{"isp":"\u0085"}}`, "preference.isp must not contain"},
	}
	for _, tc := range tests {
		msg := wantError(t, e.as(tc.svc, "POST", tc.path, tc.body), 400, 1301)
		if !strings.Contains(msg, tc.want) {
			t.Errorf("POST %s %q: %q, want %q", tc.path, tc.body, msg, tc.want)
		}
	}
	var rooms []map[string]any
	if err := json.Unmarshal(e.as(e.svc, "GET", "/v1/rooms", "").Body.Bytes(), &rooms); err != nil || len(rooms) != 1 {
		t.Fatalf("rooms stored: %v %v", rooms, err)
	}
}
