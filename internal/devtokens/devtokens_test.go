package devtokens

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/conclave-rtc/conclave/common/mauth"
)

const (
	testService = "65a1b2c3d4e5f60718293a4b"
	testKey     = "test-key"
)

// fakeAPI is a management API stand-in that checks MAuth like the real one and records calls.
type fakeAPI struct {
	mu      sync.Mutex
	rooms   []roomSummary
	creates int
	tokens  []map[string]string
	fail    bool
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
	case r.Method == http.MethodGet && r.URL.Path == "/v1/rooms":
		page, per := r.URL.Query().Get("page"), r.URL.Query().Get("per_page")
		var n, size int
		fmt.Sscan(page, &n)
		fmt.Sscan(per, &size)
		lo, hi := min((n-1)*size, len(f.rooms)), min(n*size, len(f.rooms))
		_ = json.NewEncoder(w).Encode(f.rooms[lo:hi])
	case r.Method == http.MethodPost && r.URL.Path == "/v1/rooms":
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.creates++
		rm := roomSummary{ID: fmt.Sprintf("%024x", len(f.rooms)+1), Name: body["name"]}
		f.rooms = append(f.rooms, rm)
		_ = json.NewEncoder(w).Encode(map[string]string{"_id": rm.ID, "id": rm.ID, "name": rm.Name})
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

func TestJoinCreatesThenReusesRoom(t *testing.T) {
	api := &fakeAPI{}
	for i := range pageSize + 5 { // the match is on the second page
		api.rooms = append(api.rooms, roomSummary{ID: fmt.Sprintf("%024x", 1000+i), Name: fmt.Sprintf("other-%d", i)})
	}
	h := newHandler(t, api)
	var first joinAnswer
	for i, user := range []string{"alice", "bob"} {
		rec := post(h, fmt.Sprintf(`{"room": " standup ", "user": %q}`, user))
		if rec.Code != http.StatusOK {
			t.Fatalf("join %d: %d %s", i, rec.Code, rec.Body)
		}
		var got joinAnswer
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Token != "token-for-"+user {
			t.Errorf("token %q", got.Token)
		}
		if i == 0 {
			first = got
		} else if got.RoomID != first.RoomID {
			t.Errorf("second join went to room %s, first to %s", got.RoomID, first.RoomID)
		}
	}
	if api.creates != 1 {
		t.Errorf("%d rooms created, want 1", api.creates)
	}
	if tk := api.tokens[1]; tk["role"] != "presenter" || tk["user"] != "bob" || tk["room"] != first.RoomID {
		t.Errorf("token request %v", tk)
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
