package load

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/conclave-rtc/conclave/common/mauth"
)

// fakeAPI checks every request's MAuth signature and answers like the management API.
func fakeAPI(t *testing.T, key string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	signed := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			p, err := mauth.Parse(r.Header.Get("Authorization"))
			if err != nil || p.ServiceID != "svc" || !p.Verify(key) {
				http.Error(w, `{"error":{"code":1102}}`, http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("POST /v1/rooms", signed(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if json.NewDecoder(r.Body).Decode(&body) != nil || body["name"] == nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, `{"_id":"room1","name":"x"}`)
	}))
	mux.HandleFunc("POST /v1/rooms/room1/tokens", signed(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "dG9rZW4=")
	}))
	mux.HandleFunc("POST /v1/rooms/room1/recordings", signed(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Container string `json:"container"`
			Media     struct {
				Audio any `json:"audio"`
				Video any `json:"video"`
			} `json:"media"`
		}
		if json.NewDecoder(r.Body).Decode(&body) != nil || body.Container != "mkv" || body.Media.Video != false {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, `{"id":"rec1"}`)
	}))
	mux.HandleFunc("DELETE /v1/rooms/room1/recordings/rec1", signed(func(http.ResponseWriter, *http.Request) {}))
	mux.HandleFunc("DELETE /v1/rooms/room1", signed(func(http.ResponseWriter, *http.Request) {}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestAPISignedRequests(t *testing.T) {
	srv := fakeAPI(t, "secret")
	ctx := context.Background()
	api := NewAPI(srv.URL+"/", "svc", "secret")
	room, err := api.CreateRoom(ctx, "r", nil)
	if err != nil || room != "room1" {
		t.Fatalf("room %q, %v", room, err)
	}
	if tok, err := api.CreateToken(ctx, room, "u", "presenter"); err != nil || tok != "dG9rZW4=" {
		t.Fatalf("token %q, %v", tok, err)
	}
	id, err := api.StartRecording(ctx, room, "s1", "")
	if err != nil || id != "rec1" {
		t.Fatalf("recording %q, %v", id, err)
	}
	if err := api.StopRecording(ctx, room, id); err != nil {
		t.Fatal(err)
	}
	if err := api.DeleteRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	if _, err := NewAPI(srv.URL, "svc", "wrong").CreateRoom(ctx, "r", nil); !errors.Is(err, ErrHTTP) {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err := api.StartRecording(ctx, "other", "s1", "s1"); !errors.Is(err, ErrHTTP) {
		t.Fatalf("unknown room: %v", err)
	}
}
