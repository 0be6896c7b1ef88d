package server

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
)

// pathDoc is the part of a room answer the path tests read.
type pathDoc struct {
	ID   string  `json:"_id"`
	Name string  `json:"name"`
	Path *string `json:"path"`
	Pool *bool   `json:"pool"`
}

// pathOf is the answer's path ("" when the key is absent).
func (d pathDoc) pathOf() string {
	if d.Path == nil {
		return ""
	}
	return *d.Path
}

// wantRoom checks a 200 room answer and returns it.
func wantRoom(t testing.TB, rec *httptest.ResponseRecorder) pathDoc {
	t.Helper()
	wantOK(t, rec)
	var d pathDoc
	mustJSON(t, rec.Body.Bytes(), &d)
	if !ids.IsObjectID(d.ID) {
		t.Fatalf("answer %s is not a room", rec.Body)
	}
	return d
}

// wantShape checks a room answer's path, and pool flag (the key present only when true).
func wantShape(t testing.TB, d pathDoc, path string, pool bool) {
	t.Helper()
	if d.pathOf() != path || (d.Path != nil && *d.Path == "") {
		t.Fatalf("room %s path %v, want %q", d.ID, d.Path, path)
	}
	if (d.Pool != nil) != pool || (d.Pool != nil && !*d.Pool) {
		t.Fatalf("room %s pool %v, want %v", d.ID, d.Pool, pool)
	}
}

func byPathURL(prefix, path string) string { return prefix + "/rooms?path=" + url.QueryEscape(path) }

func TestRoomsPathCreateAndLookup(t *testing.T) {
	e := newEnv(t, nil)
	plain := e.as(e.svc, "POST", "/v1/rooms", `{"name":"plain"}`)
	wantOK(t, plain)
	if strings.Contains(plain.Body.String(), `"path"`) || strings.Contains(plain.Body.String(), `"pool"`) {
		t.Fatalf("an OWT room answer shows the extension keys: %s", plain.Body)
	}
	r := wantRoom(t, e.as(e.svc, "POST", "/v1/rooms", `{"name":"standup","path":"team/standup"}`))
	wantShape(t, r, "team/standup", false)
	for _, prefix := range []string{"/v1", "/v1.1"} {
		got := wantRoom(t, e.as(e.svc, "GET", byPathURL(prefix, "team/standup"), ""))
		if got.ID != r.ID || got.Name != "standup" {
			t.Fatalf("%s lookup = %+v, want room %s", prefix, got, r.ID)
		}
		wantShape(t, got, "team/standup", false)
	}
	byID := e.as(e.svc, "GET", "/v1/rooms/"+r.ID, "")
	if byPath := e.as(e.svc, "GET", byPathURL("/v1", "team/standup"), ""); byPath.Body.String() != byID.Body.String() {
		t.Fatalf("lookup by path %s differs from GET by id %s", byPath.Body, byID.Body)
	}

	wantError(t, e.as(e.svc, "GET", byPathURL("/v1", "team"), ""), 404, 1003)
	for _, bad := range []string{"", "Team/Standup", "team//standup", "/team", "a b", "../x"} {
		wantError(t, e.as(e.svc, "GET", byPathURL("/v1", bad), ""), 400, 1301)
	}
	wantError(t, e.do("GET", byPathURL("/v1", "team/standup"), "", ""), 401, 1101)

	// Paths are per service.
	wantError(t, e.as(e.super, "GET", byPathURL("/v1", "team/standup"), ""), 404, 1003)
	other := wantRoom(t, e.as(e.super, "POST", "/v1/rooms", `{"name":"x","options":{"path":"team/standup"}}`))
	if got := wantRoom(t, e.as(e.super, "GET", byPathURL("/v1", "team/standup"), "")); got.ID != other.ID {
		t.Fatalf("super service's lookup = %s, want %s", got.ID, other.ID)
	}
	if got := wantRoom(t, e.as(e.svc, "GET", byPathURL("/v1", "team/standup"), "")); got.ID != r.ID {
		t.Fatalf("tenant's lookup = %s, want %s", got.ID, r.ID)
	}

	msg := wantError(t, e.as(e.svc, "POST", "/v1/rooms", `{"name":"dup","path":"team/standup"}`), 400, 1301)
	if msg != "Room path already exists" {
		t.Fatalf("duplicate path message %q", msg)
	}
	for _, body := range []string{`{"name":"a","path":"Team"}`, `{"name":"a","path":7}`, `{"name":"a","pool":"yes"}`,
		`{"name":"a","path":"a","options":{"path":"a"}}`, `{"name":"a","options":{"path":"a/"}}`} {
		wantError(t, e.as(e.svc, "POST", "/v1/rooms", body), 400, 1301)
	}
	var rooms []pathDoc
	mustJSON(t, e.as(e.svc, "GET", "/v1/rooms", "").Body.Bytes(), &rooms)
	if len(rooms) != 2 {
		t.Fatalf("the refused rooms were stored: %+v", rooms)
	}
}

func TestRoomsPathUpdate(t *testing.T) {
	e := newEnv(t, nil)
	a := wantRoom(t, e.as(e.svc, "POST", "/v1/rooms", `{"name":"a","path":"a"}`))
	b := e.createRoom(e.svc, "b")
	for _, method := range []string{"PUT", "PATCH"} {
		wantError(t, e.as(e.svc, method, "/v1/rooms/"+b, `{"path":"a","inputLimit":2}`), 400, 1301)
		wantError(t, e.as(e.svc, method, "/v1/rooms/"+b, `{"path":"A"}`), 400, 1301)
	}
	var got roomDoc
	mustJSON(t, e.as(e.svc, "GET", "/v1/rooms/"+b, "").Body.Bytes(), &got)
	if got.InputLimit == 2 {
		t.Fatal("a refused update changed the room")
	}

	wantShape(t, wantRoom(t, e.as(e.svc, "PUT", "/v1/rooms/"+a.ID, `{"path":"a/moved"}`)), "a/moved", false)
	wantError(t, e.as(e.svc, "GET", byPathURL("/v1", "a"), ""), 404, 1003)
	wantShape(t, wantRoom(t, e.as(e.svc, "PATCH", "/v1/rooms/"+b, `{"path":"a"}`)), "a", false)
	if got := wantRoom(t, e.as(e.svc, "GET", byPathURL("/v1", "a"), "")); got.ID != b {
		t.Fatalf("lookup of a = %s, want %s", got.ID, b)
	}
	// GET by id (cached before the update) shows the new path.
	wantShape(t, wantRoom(t, e.as(e.svc, "GET", "/v1/rooms/"+a.ID, "")), "a/moved", false)

	// A GET answer sent back unchanged keeps the path; other updates keep it too.
	cur := e.as(e.svc, "GET", "/v1/rooms/"+a.ID, "").Body.String()
	wantShape(t, wantRoom(t, e.as(e.svc, "PUT", "/v1/rooms/"+a.ID, cur)), "a/moved", false)
	wantShape(t, wantRoom(t, e.as(e.svc, "PUT", "/v1/rooms/"+a.ID, `{"name":"renamed"}`)), "a/moved", false)

	wantShape(t, wantRoom(t, e.as(e.svc, "PATCH", "/v1/rooms/"+a.ID, `{"path":""}`)), "", false)
	wantError(t, e.as(e.svc, "GET", byPathURL("/v1", "a/moved"), ""), 404, 1003)

	// Deleting a room frees its path.
	wantOK(t, e.as(e.svc, "DELETE", "/v1/rooms/"+b, ""))
	wantError(t, e.as(e.svc, "GET", byPathURL("/v1", "a"), ""), 404, 1003)
	wantShape(t, wantRoom(t, e.as(e.svc, "POST", "/v1/rooms", `{"name":"again","path":"a"}`)), "a", false)
}

func TestRoomsPathListed(t *testing.T) {
	e := newEnv(t, nil)
	wantRoom(t, e.as(e.svc, "POST", "/v1/rooms", `{"name":"p","path":"x/y","pool":true}`))
	e.createRoom(e.svc, "plain")
	var rooms []pathDoc
	mustJSON(t, e.as(e.svc, "GET", "/v1/rooms?page=1&per_page=10", "").Body.Bytes(), &rooms)
	if len(rooms) != 2 {
		t.Fatalf("list %+v", rooms)
	}
	wantShape(t, rooms[0], "x/y", true)
	wantShape(t, rooms[1], "", false)
}

// claim posts a claim of path as service s.
func (e *env) claim(s store.Service, path string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.as(s, "POST", "/v1/rooms/claim", `{"path":"`+path+`"}`)
}

func TestRoomsPoolClaimRelease(t *testing.T) {
	e := newEnv(t, nil)
	p1 := wantRoom(t, e.as(e.svc, "POST", "/v1/rooms", `{"name":"pool-1","pool":true}`))
	wantShape(t, p1, "", true)
	p2 := wantRoom(t, e.as(e.svc, "POST", "/v1/rooms", `{"name":"pool-2","options":{"pool":true}}`))
	plain := e.createRoom(e.svc, "plain")
	foreign := wantRoom(t, e.as(e.super, "POST", "/v1/rooms", `{"name":"f","pool":true}`))
	wantRoom(t, e.as(e.svc, "GET", "/v1/rooms/"+p1.ID, "")) // cached before the claim

	a := wantRoom(t, e.claim(e.svc, "a"))
	wantShape(t, a, "a", true)
	if a.ID != p1.ID && a.ID != p2.ID {
		t.Fatalf("claim a = %s, not a pool room", a.ID)
	}
	if again := wantRoom(t, e.claim(e.svc, "a")); again.ID != a.ID {
		t.Fatalf("second claim of a = %s, want %s", again.ID, a.ID)
	}
	wantShape(t, wantRoom(t, e.as(e.svc, "GET", "/v1/rooms/"+a.ID, "")), "a", true)
	b := wantRoom(t, e.claim(e.svc, "b"))
	if b.ID == a.ID || (b.ID != p1.ID && b.ID != p2.ID) {
		t.Fatalf("claim b = %s (a = %s)", b.ID, a.ID)
	}
	msg := wantError(t, e.claim(e.svc, "c"), 404, 1003)
	if !strings.HasPrefix(msg, "Room not found") {
		t.Fatalf("empty pool message %q", msg)
	}
	wantShape(t, wantRoom(t, e.as(e.svc, "GET", "/v1/rooms/"+plain, "")), "", false)
	wantShape(t, wantRoom(t, e.as(e.super, "GET", "/v1/rooms/"+foreign.ID, "")), "", true)

	// A path held by a room outside the pool is claimed as it is.
	held := wantRoom(t, e.as(e.svc, "POST", "/v1/rooms", `{"name":"held","path":"held"}`))
	if got := wantRoom(t, e.claim(e.svc, "held")); got.ID != held.ID {
		t.Fatalf("claim of held = %s, want %s", got.ID, held.ID)
	}

	rel := wantRoom(t, e.as(e.svc, "POST", "/v1/rooms/"+a.ID+"/release", ""))
	wantShape(t, rel, "", true)
	wantError(t, e.as(e.svc, "GET", byPathURL("/v1", "a"), ""), 404, 1003)
	if c := wantRoom(t, e.claim(e.svc, "c")); c.ID != a.ID {
		t.Fatalf("claim c = %s, want the released %s", c.ID, a.ID)
	}
	wantShape(t, wantRoom(t, e.as(e.svc, "POST", "/v1.1/rooms/"+plain+"/release", "")), "", true)
	if d := wantRoom(t, e.claim(e.svc, "d")); d.ID != plain {
		t.Fatalf("claim d = %s, want the released %s", d.ID, plain)
	}

	wantError(t, e.as(e.svc, "POST", "/v1/rooms/"+ids.ObjectID()+"/release", ""), 404, 1003)
	wantError(t, e.as(e.svc, "POST", "/v1/rooms/"+foreign.ID+"/release", ""), 404, 1003)
	wantError(t, e.do("POST", "/v1/rooms/claim", "", `{"path":"a"}`), 401, 1101)
	for _, body := range []string{`{}`, `{"path":""}`, `{"path":"A"}`, `{"path":"a","x":1}`, `[]`} {
		wantError(t, e.as(e.svc, "POST", "/v1/rooms/claim", body), 400, 1301)
	}
	if got := wantRoom(t, e.claim(e.super, "d")); got.ID != foreign.ID {
		t.Fatalf("super service's claim d = %s, want %s", got.ID, foreign.ID)
	}
}

// TestRoomsPoolConcurrentClaims: through the REST API, on both stores, concurrent claims of
// one path all get the same room and claims of different paths get different rooms.
func TestRoomsPoolConcurrentClaims(t *testing.T) {
	t.Run("Embedded", func(t *testing.T) { testConcurrentClaims(t, newEnv(t, nil)) })
	t.Run("Mongo", func(t *testing.T) { testConcurrentClaims(t, newEnvWithStore(t, openMongo(t), nil)) })
}

func testConcurrentClaims(t *testing.T, e *env) {
	const n = 8
	for i := range 2 * n {
		wantRoom(t, e.as(e.svc, "POST", "/v1/rooms", fmt.Sprintf(`{"name":"pool-%d","pool":true}`, i)))
	}
	paths := make([]string, 2*n)
	for i := range n {
		paths[i], paths[n+i] = "same", fmt.Sprintf("p-%d", i)
	}
	recs := make([]*httptest.ResponseRecorder, len(paths))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Go(func() {
			<-start
			recs[i] = e.claim(e.svc, p)
		})
	}
	close(start)
	wg.Wait()
	owner := map[string]string{}
	for i, rec := range recs {
		d := wantRoom(t, rec)
		wantShape(t, d, paths[i], true)
		if p, ok := owner[d.ID]; ok && p != paths[i] {
			t.Fatalf("claims of %q and %q both got room %s", p, paths[i], d.ID)
		}
		owner[d.ID] = paths[i]
	}
	if len(owner) != n+1 {
		t.Fatalf("%d rooms claimed, want %d", len(owner), n+1)
	}
}

// TestRoomsPathKeptAcrossInstances: an update through an instance that cached the room before
// another instance claimed it keeps the claimed path.
func TestRoomsPathKeptAcrossInstances(t *testing.T) {
	e := newEnv(t, nil)
	other, err := New(e.srv.cfg, Deps{Store: e.st, Bus: e.bus, Scheduler: e.sched, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	second := *e
	second.srv, second.h = other, other.Handler()
	r := wantRoom(t, e.as(e.svc, "POST", "/v1/rooms", `{"name":"spare","pool":true}`))
	wantRoom(t, e.as(e.svc, "GET", "/v1/rooms/"+r.ID, "")) // cached by the first instance
	wantShape(t, wantRoom(t, second.claim(e.svc, "kept")), "kept", true)
	wantShape(t, wantRoom(t, e.as(e.svc, "PUT", "/v1/rooms/"+r.ID, `{"inputLimit":3}`)), "kept", true)
	if got := wantRoom(t, second.as(e.svc, "GET", byPathURL("/v1", "kept"), "")); got.ID != r.ID {
		t.Fatalf("lookup after the update = %s, want %s", got.ID, r.ID)
	}
}
