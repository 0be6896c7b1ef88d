package devtokens

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/conclave-rtc/conclave/common/mauth"
	"github.com/conclave-rtc/conclave/common/room"
)

const (
	testService = "65a1b2c3d4e5f60718293a4b"
	testKey     = "test-key"
)

// fakeRoom is a room of the fake API, in the REST shape (both id keys, as OWT).
type fakeRoom struct {
	MongoID string `json:"_id"`
	ID      string `json:"id"`
	Name    string `json:"name"`
	Path    string `json:"path,omitempty"`
}

// fakeAPI is a management API stand-in that checks MAuth like the real one, keeps paths unique
// like it, and records calls.
type fakeAPI struct {
	mu      sync.Mutex
	rooms   []fakeRoom
	creates int // creation requests, refused ones included
	lookups []string
	tokens  []map[string]string
	fail    bool
	// elsewhere makes the next creation find its path taken by a room another process just
	// created.
	elsewhere bool
	// refuse makes every creation a 400 (a room the API does not accept).
	refuse bool
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, err := mauth.Parse(r.Header.Get("Authorization"))
	if err != nil || p.ServiceID != testService || !p.Verify(testKey) {
		http.Error(w, `{"error":{"code":1101,"message":"auth"}}`, http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		http.Error(w, `{"error":{"code":2001,"message":"boom"}}`, http.StatusInternalServerError)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/rooms" && r.URL.Query().Has("path"):
		path := r.URL.Query().Get("path")
		f.lookups = append(f.lookups, path)
		if rm, ok := f.byPath(path); ok {
			_ = json.NewEncoder(w).Encode(rm)
			return
		}
		http.Error(w, `{"error":{"code":1003,"message":"Room not found"}}`, http.StatusNotFound)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/rooms":
		f.list(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/rooms":
		f.create(w, r)
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/v1/rooms/"):
		f.setPath(w, r)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/tokens"):
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		body["room"] = strings.Split(r.URL.Path, "/")[3]
		f.tokens = append(f.tokens, body)
		_, _ = io.WriteString(w, "token-for-"+body["user"])
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeAPI) create(w http.ResponseWriter, r *http.Request) {
	var body map[string]string
	_ = json.NewDecoder(r.Body).Decode(&body)
	f.creates++
	if f.elsewhere {
		f.elsewhere = false
		f.add("made elsewhere", body["path"])
	}
	if _, taken := f.byPath(body["path"]); taken || f.refuse {
		http.Error(w, `{"error":{"code":1301,"message":"Room path already exists"}}`, http.StatusBadRequest)
		return
	}
	_ = json.NewEncoder(w).Encode(f.add(body["name"], body["path"]))
}

// list answers a page of the room list (OWT's page and per_page).
func (f *fakeAPI) list(w http.ResponseWriter, r *http.Request) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
	lo := min(max(page-1, 0)*per, len(f.rooms))
	_ = json.NewEncoder(w).Encode(f.rooms[lo:min(lo+per, len(f.rooms))])
}

// setPath applies a PATCH {"path"} to a room, refusing a path another room has.
func (f *fakeAPI) setPath(w http.ResponseWriter, r *http.Request) {
	var body map[string]string
	_ = json.NewDecoder(r.Body).Decode(&body)
	if _, taken := f.byPath(body["path"]); taken {
		http.Error(w, `{"error":{"code":1301,"message":"Room path already exists"}}`, http.StatusBadRequest)
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/v1/rooms/")
	for i := range f.rooms {
		if f.rooms[i].ID == id {
			f.rooms[i].Path = body["path"]
			_ = json.NewEncoder(w).Encode(f.rooms[i])
			return
		}
	}
	http.NotFound(w, r)
}

func (f *fakeAPI) add(name, path string) fakeRoom {
	id := fmt.Sprintf("%024x", len(f.rooms)+1)
	rm := fakeRoom{MongoID: id, ID: id, Name: name, Path: path}
	f.rooms = append(f.rooms, rm)
	return rm
}

func (f *fakeAPI) byPath(path string) (fakeRoom, bool) {
	for _, rm := range f.rooms {
		if rm.Path == path && path != "" {
			return rm, true
		}
	}
	return fakeRoom{}, false
}

func newHandler(t *testing.T, api *fakeAPI) *Handler {
	t.Helper()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	h, err := New(Config{API: srv.URL + "/", ServiceID: testService, ServiceKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func post(h http.Handler, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body)))
	return rec
}

// join posts a join and returns its answer, failing t unless it is a 200.
func join(t *testing.T, h http.Handler, room, user string) joinAnswer {
	t.Helper()
	rec := post(h, fmt.Sprintf(`{"room": %q, "user": %q}`, room, user))
	if rec.Code != http.StatusOK {
		t.Fatalf("join %q: %d %s", room, rec.Code, rec.Body)
	}
	var got joinAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Token != "token-for-"+user {
		t.Errorf("token %q", got.Token)
	}
	return got
}

func TestJoinCreatesThenReusesRoom(t *testing.T) {
	api := &fakeAPI{}
	for i := range 5 {
		api.add(fmt.Sprintf("other-%d", i), fmt.Sprintf("other-%d", i))
	}
	h := newHandler(t, api)
	first := join(t, h, " Team Standup ", "alice")
	if first.Path != "team-standup" {
		t.Fatalf("path %q, want team-standup", first.Path)
	}
	if rm, ok := api.byPath("team-standup"); !ok || rm.ID != first.RoomID || rm.Name != "Team Standup" {
		t.Fatalf("created %+v (found %v), want room %s named after the page's name", rm, ok, first.RoomID)
	}
	// Another spelling of the name, and the path itself (a /r/team-standup link), meet there.
	for _, name := range []string{"team standup", "team-standup"} {
		if got := join(t, h, name, "bob"); got.RoomID != first.RoomID || got.Path != first.Path {
			t.Errorf("join %q went to %+v, first to %+v", name, got, first)
		}
	}
	if api.creates != 1 {
		t.Errorf("%d rooms created, want 1", api.creates)
	}
	if tk := api.tokens[1]; tk["role"] != "presenter" || tk["user"] != "bob" || tk["room"] != first.RoomID {
		t.Errorf("token request %v", tk)
	}
}

func TestJoinFindsRoomByPath(t *testing.T) {
	api := &fakeAPI{}
	claimed := api.add("claimed by an app", "ops/daily")
	h := newHandler(t, api)
	if got := join(t, h, "ops/daily", "alice"); got.RoomID != claimed.ID || got.Path != "ops/daily" {
		t.Fatalf("join = %+v, want room %s", got, claimed.ID)
	}
	if api.creates != 0 || len(api.lookups) != 1 || api.lookups[0] != "ops/daily" {
		t.Fatalf("creates %d, lookups %q", api.creates, api.lookups)
	}
}

// TestJoinGivesPathToNamedRoom: a room created elsewhere (the console) with the page's room
// name and no path is the one joined, and gets the path; a room of that name that already
// has another path is not taken over.
func TestJoinGivesPathToNamedRoom(t *testing.T) {
	api := &fakeAPI{}
	for i := range 150 { // more than a page of the list
		api.add(fmt.Sprintf("room %d", i), "")
	}
	api.add("console-room", "elsewhere/path")
	made := api.add("console-room", "")
	h := newHandler(t, api)
	if got := join(t, h, "console-room", "dana"); got.RoomID != made.ID || got.Path != "console-room" {
		t.Fatalf("join = %+v, want room %s", got, made.ID)
	}
	if rm, ok := api.byPath("console-room"); !ok || rm.ID != made.ID || api.creates != 0 {
		t.Fatalf("path given to %+v (found %v), %d creations", rm, ok, api.creates)
	}
}

// TestJoinCreationRace: a creation refused because another process made the room meanwhile
// joins that room.
func TestJoinCreationRace(t *testing.T) {
	api := &fakeAPI{elsewhere: true}
	h := newHandler(t, api)
	got := join(t, h, "race", "alice")
	rm, _ := api.byPath("race")
	if got.RoomID != rm.ID || rm.Name != "made elsewhere" || len(api.rooms) != 1 {
		t.Fatalf("join = %+v, rooms %+v", got, api.rooms)
	}
	refused := newHandler(t, &fakeAPI{refuse: true})
	if rec := post(refused, `{"room":"a","user":"b"}`); rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "400") {
		t.Fatalf("refused creation: %d %s", rec.Code, rec.Body)
	}
}

func TestConcurrentJoinsCreateOneRoom(t *testing.T) {
	api := &fakeAPI{}
	h := newHandler(t, api)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if rec := post(h, fmt.Sprintf(`{"room":"r","user":"u%d"}`, i)); rec.Code != http.StatusOK {
				t.Errorf("join: %d %s", rec.Code, rec.Body)
			}
		})
	}
	wg.Wait()
	if api.creates != 1 {
		t.Fatalf("%d rooms created, want 1", api.creates)
	}
}

func TestJoinRejectsBadRequests(t *testing.T) {
	h := newHandler(t, &fakeAPI{})
	tests := []struct {
		name, method, path, body string
		status                   int
	}{
		{"not json", http.MethodPost, Path, `room=a`, 400},
		{"unknown field", http.MethodPost, Path, `{"room":"a","user":"b","role":"admin"}`, 400},
		{"empty room", http.MethodPost, Path, `{"room":"  ","user":"b"}`, 400},
		{"missing user", http.MethodPost, Path, `{"room":"a"}`, 400},
		{"long user", http.MethodPost, Path, `{"room":"a","user":"` + strings.Repeat("é", maxNameLen+1) + `"}`, 400},
		{"control character", http.MethodPost, Path, `{"room":"a\u0007","user":"b"}`, 400},
		{"GET", http.MethodGet, Path, ``, 405},
		{"other path", http.MethodPost, "/dev/other", `{"room":"a","user":"b"}`, 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tc.status, rec.Body)
			}
			var e map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e["error"] == "" {
				t.Fatalf("body %s is not {\"error\": …}", rec.Body)
			}
		})
	}
	if rec := post(h, `{"room":"ok room","user":"Zoë 👋"}`); rec.Code != http.StatusOK {
		t.Fatalf("a valid request was refused: %d %s", rec.Code, rec.Body)
	}
}

func TestJoinReportsAPIErrors(t *testing.T) {
	h := newHandler(t, &fakeAPI{fail: true})
	rec := post(h, `{"room":"a","user":"b"}`)
	if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "500") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	bad, err := New(Config{API: "http://127.0.0.1:1", ServiceID: testService, ServiceKey: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	if rec := post(bad, `{"room":"a","user":"b"}`); rec.Code != http.StatusBadGateway {
		t.Fatalf("unreachable API: %d %s", rec.Code, rec.Body)
	}
	// a wrong key is refused by the (fake) API's MAuth check
	srv := httptest.NewServer(&fakeAPI{})
	defer srv.Close()
	wrong, _ := New(Config{API: srv.URL, ServiceID: testService, ServiceKey: "wrong"})
	if rec := post(wrong, `{"room":"a","user":"b"}`); rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "401") {
		t.Fatalf("wrong key: %d %s", rec.Code, rec.Body)
	}
}

func TestDisabled(t *testing.T) {
	rec := httptest.NewRecorder()
	Disabled().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, Path, strings.NewReader(`{}`)))
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), EnvVar+"=1") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestNewValidates(t *testing.T) {
	for _, c := range []Config{{}, {API: "http://x"}, {API: "http://x", ServiceID: testService}} {
		if _, err := New(c); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", c, err)
		}
	}
}

func TestEnabled(t *testing.T) {
	tests := map[string]bool{"": false, "0": false, "false": false, "1": true, "true": true, " TRUE ": true, "on": true, "yes": true, "2": false}
	for v, want := range tests {
		if got := Enabled(func(string) string { return v }); got != want {
			t.Errorf("Enabled(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestAPIURL(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 3000}, "http://127.0.0.1:3000"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 3000}, "http://127.0.0.1:3000"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 3000}, "http://127.0.0.1:3000"},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 80}, "http://[::1]:80"},
	}
	for _, tc := range tests {
		if got := APIURL(tc.addr); got != tc.want {
			t.Errorf("APIURL(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// FuzzDecodeJoin: any body is either refused or yields trimmed, printable names of 1 to
// maxNameLen characters.
func FuzzDecodeJoin(f *testing.F) {
	for _, s := range []string{`{"room":"a","user":"b"}`, `{"room":" x ","user":"Zoë"}`, `{}`, `[]`, `{"room":1}`,
		`{"room":"a","user":"b"} trailing`, `{"room":"\u0000","user":"b"}`, "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req, err := decodeJoin(httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body)))
		if err != nil {
			return
		}
		for _, v := range []string{req.Room, req.User} {
			if checkName(v) != nil || v != strings.TrimSpace(v) {
				t.Fatalf("accepted %q from %q", v, body)
			}
		}
	})
}

func TestPathFor(t *testing.T) {
	tests := map[string]string{
		"team-standup":            "team-standup",
		"Team Standup":            "team-standup",
		" Team  Standup! ":        "team-standup",
		"team/standup":            "team/standup",
		"Team/Daily Standup":      "team/daily-standup",
		"a--b":                    "a--b", // already a path: kept as it is
		"a//b":                    "a/b",
		"/a/./b/../c/":            "a/b/c",
		"v1.2_beta~x":             "v1.2_beta~x",
		"Café":                    "caf-" + nameHash("café"),
		"café":                    "caf-" + nameHash("café"),
		"会議":                      "room-" + nameHash("会議"),
		"!!!":                     "room-" + nameHash("!!!"),
		strings.Repeat("ab ", 60): strings.TrimRight(strings.Repeat("ab-", 60)[:room.MaxPathLen-9], "-") + "-" + nameHash(strings.Repeat("ab ", 60)),
	}
	for name, want := range tests {
		if got := PathFor(name); got != want {
			t.Errorf("PathFor(%q) = %q, want %q", name, got, want)
		}
	}
	if PathFor("会議") == PathFor("打合せ") || PathFor("会議 1") == PathFor("打合せ 1") {
		t.Error("names that differ only in non-ASCII letters share a path")
	}
}

// FuzzPathFor: every name maps to a valid room path, which maps to itself.
func FuzzPathFor(f *testing.F) {
	for _, s := range []string{"Team Standup", "a/b", "/", "..", "Café", "会議 1", "a\u212a", strings.Repeat("x/", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p := PathFor(name)
		if err := room.CheckPath("path", p); err != nil {
			t.Fatalf("PathFor(%q) = %q: %v", name, p, err)
		}
		if again := PathFor(p); again != p {
			t.Fatalf("PathFor(%q) = %q, but PathFor(%q) = %q", name, p, p, again)
		}
	})
}
