package e2eutil

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestFreePortsUnique checks that no port is handed out twice, by network.
func TestFreePortsUnique(t *testing.T) {
	for name, free := range map[string]func(testing.TB) int{"tcp": FreePort, "udp": FreeUDPPort} {
		seen := map[int]bool{}
		for range 200 {
			p := free(t)
			if p <= 0 || seen[p] {
				t.Fatalf("%s port %d handed out twice or invalid", name, p)
			}
			seen[p] = true
		}
	}
}

// TestWaitPortAndHTTP checks the readiness polls against a listening and a closed port.
func TestWaitPortAndHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	if !WaitPort(port, time.Second) {
		t.Fatal("listening port not seen")
	}
	WaitHTTP(t, srv.URL+"/healthz", 5*time.Second)
	if HTTPOK(srv.URL + "/other") {
		t.Fatal("a 503 counted as ready")
	}
	closed := FreePort(t)
	if WaitPort(closed, 200*time.Millisecond) || HTTPOK("http://127.0.0.1:"+itoa(closed)) {
		t.Fatal("a closed port counted as ready")
	}
}

func itoa(n int) string { return (&net.TCPAddr{Port: n}).String()[1:] }
