package e2eutil

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/mauth"
)

// TestRESTSignatureVectors checks the harness's own MAuth signer against the reference
// vectors, so the REST tests sign requests with an independently verified algorithm.
func TestRESTSignatureVectors(t *testing.T) {
	cases := []struct{ toSign, want string }{
		{"1700000000000,12345", "MDUyNDAyODNlZTg0OTNiYjkwNGM0NmU2YTNjMWVkYmFhOTlhMjI0OWI4NDMxYmNhMDc5NWQ0NDAyOWU2MzE5YQ=="},
		{"1700000000000,12345,YWxpY2U=,presenter", "MWIyOWViYjA4MDM2ZTFlNzBkMGY0MDUwMWRjMGIyZWVjZDI3ZDUyZTE3MjEwZWYzOGNlMDZlMGY0MzY4MmVjYg=="},
	}
	for _, c := range cases {
		if got := Signature("samplekey", c.toSign); got != c.want {
			t.Errorf("Signature(%q) = %s, want %s", c.toSign, got, c.want)
		}
	}
}

// seen is what the test server received.
type seen struct {
	method, path, ctype, auth string
	body                      []byte
}

func recordingServer(t *testing.T, status int, answer string) (*httptest.Server, chan seen) {
	t.Helper()
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), b}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

// TestRESTRequests checks the bodies, content types and signatures the client sends, and the
// server's own parser accepting the signature.
func TestRESTRequests(t *testing.T) {
	cases := []struct {
		name       string
		body       any
		ctype      string
		wantBody   string
		wantStatus int
	}{
		{"no body", nil, "text/plain;charset=UTF-8", "", http.StatusOK},
		{"raw bytes", []byte(`{"raw":1}`), "application/json", `{"raw":1}`, http.StatusOK},
		{"value", map[string]int{"n": 2}, "application/json", `{"n":2}`, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, got := recordingServer(t, c.wantStatus, `{}`)
			cl := RESTClient{Base: srv.URL, ServiceID: "svc", Key: "k3y"}
			r := cl.Do(t, "POST", "/v1/rooms", c.body)
			if r.Status != c.wantStatus || r.Took <= 0 {
				t.Fatalf("response %+v", r)
			}
			s := <-got
			if s.method != "POST" || s.path != "/v1/rooms" || s.ctype != c.ctype || string(s.body) != c.wantBody {
				t.Fatalf("server saw %+v", s)
			}
			p, err := mauth.Parse(s.auth)
			if err != nil {
				t.Fatalf("parse %q: %v", s.auth, err)
			}
			if !p.Verify("k3y") || p.Verify("other") {
				t.Fatalf("signature of %q does not verify with exactly the key", s.auth)
			}
		})
	}
}

// TestRESTErrorsAndTimeout checks the OWT error accessors, Send without a header and the
// request timeout.
func TestRESTErrorsAndTimeout(t *testing.T) {
	srv, got := recordingServer(t, http.StatusNotFound, `{"error":{"code":1003,"message":"Room not found"}}`)
	cl := RESTClient{Base: srv.URL, ServiceID: "svc", Key: "k"}
	r := cl.Send(t, "GET", "/v1/rooms/x", nil, "")
	if s := <-got; s.auth != "" {
		t.Fatalf("Send without auth sent %q", s.auth)
	}
	MustError(t, r, http.StatusNotFound, 1003)
	if r.ErrorMessage() != "Room not found" {
		t.Fatalf("message %q", r.ErrorMessage())
	}
	if (Response{Body: []byte("not json")}).ErrorCode() != 0 {
		t.Fatal("a non-JSON body has an error code")
	}

	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	t.Cleanup(func() { close(hang); slow.Close() })
	begin := time.Now()
	_, err := RESTClient{Base: slow.URL, Timeout: 100 * time.Millisecond}.Try("GET", "/", nil)
	if err == nil {
		t.Fatal("a hung request did not time out")
	}
	t.Logf("hung request ended after %s: %v", time.Since(begin).Round(time.Millisecond), err)
	if _, err := (RESTClient{Base: srv.URL}).Try("GET", "/", func() {}); err == nil {
		t.Fatal("a body that cannot be encoded was sent")
	}
}

// TestRESTTokenAndRoom checks CreateRoom and Token against a server answering like the API.
func TestRESTTokenAndRoom(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		switch r.URL.Path {
		case "/v1/rooms":
			_, _ = io.WriteString(w, `{"_id":"65a1b2c3d4e5f60718293a4c"}`)
		case "/v1/rooms/r1/tokens":
			pref, _ := body["preference"].(map[string]any)
			if body["user"] != "alice" || body["role"] != "viewer" || pref["isp"] != "isp-a" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			_, _ = io.WriteString(w, "token-text")
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	cl := RESTClient{Base: srv.URL, ServiceID: "svc", Key: "k"}
	if id := cl.CreateRoom(t, "room"); id != "65a1b2c3d4e5f60718293a4c" {
		t.Fatalf("room id %q", id)
	}
	if tok := cl.MustToken(t, "r1", "alice", "viewer", "isp-a"); tok != "token-text" {
		t.Fatalf("token %q", tok)
	}
	if _, err := cl.Token("r1", "bob", "viewer", ""); err == nil {
		t.Fatal("a refused token request gave a token")
	}
}

// TestRESTOpenAPI checks that a client with OpenAPI set reports an answer the description
// does not allow, and passes one it allows.
func TestRESTOpenAPI(t *testing.T) {
	room := "/v1/rooms/" + ids.ObjectID()
	cl := RESTClient{ServiceID: ids.ObjectID(), Key: "k", OpenAPI: OpenAPIChecker(t)}
	for _, tc := range []struct {
		ctype, body string
		ok          bool
	}{
		{"application/json; charset=utf-8", `{"error":{"code":1003,"message":"Room not found"}}`, true},
		{"application/json; charset=utf-8", `{"error":{"code":1004,"message":"Stream not found"}}`, false},
		{"text/plain; charset=utf-8", `{"error":{"code":1003,"message":"Room not found"}}`, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", tc.ctype)
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, tc.body)
		}))
		cl.Base = srv.URL
		_, err := cl.Try("GET", room, nil)
		srv.Close()
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s %s: a described answer failed the check: %v", tc.ctype, tc.body, err)
		case !tc.ok && !errors.Is(err, ErrOpenAPI):
			t.Errorf("%s %s: an answer the description does not allow passed: %v", tc.ctype, tc.body, err)
		}
	}
}
