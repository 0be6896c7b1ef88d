package socketio

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// startServer runs a Server behind an httptest server on 127.0.0.1 and closes both at
// the end of the test.
func startServer(t *testing.T, cfg Config, setup func(*Server)) (*Server, string) {
	t.Helper()
	srv, hs := newTestServer(t, cfg, setup)
	return srv, hs.URL
}

// newTestServer is startServer returning the httptest server too, for tests that close
// it themselves (Close is idempotent).
func newTestServer(t *testing.T, cfg Config, setup func(*Server)) (*Server, *httptest.Server) {
	t.Helper()
	level := slog.LevelWarn
	if os.Getenv("SOCKETIO_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	srv, err := NewServer(cfg, logger)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	if setup != nil {
		setup(srv)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		_ = srv.Close()
		hs.Close()
	})
	return srv, hs
}

// fastConfig returns a Config with short heartbeats for tests.
func fastConfig() Config {
	c := DefaultConfig()
	c.PingInterval = 200 * time.Millisecond
	c.PingTimeout = 200 * time.Millisecond
	return c
}

// httpDo performs a request and returns status, body and headers.
func httpDo(t *testing.T, method, url, body string, header http.Header) (int, string, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// wsURL converts an http base URL to the websocket endpoint for a protocol version.
func wsURL(base string, eio int, sid string) string {
	u := strings.Replace(base, "http://", "ws://", 1) + "/socket.io/?transport=websocket&EIO=" + strconv.Itoa(eio)
	if sid != "" {
		u += "&sid=" + sid
	}
	return u
}

// pollURL returns the polling endpoint for a protocol version.
func pollURL(base string, eio int, sid string) string {
	u := base + "/socket.io/?transport=polling&EIO=" + strconv.Itoa(eio) + "&t=abc"
	if sid != "" {
		u += "&sid=" + sid
	}
	return u
}

// rawWS is a raw websocket test client speaking Engine.IO text frames.
type rawWS struct {
	t  *testing.T
	ws *websocket.Conn
}

// dialWS opens a raw websocket to the server.
func dialWS(t *testing.T, url string) *rawWS {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = ws.CloseNow() })
	return &rawWS{t: t, ws: ws}
}

// send writes one text frame.
func (r *rawWS) send(s string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.ws.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		r.t.Fatalf("ws write %q: %v", s, err)
	}
}

// read returns the next text frame or an error (closed connection, timeout).
func (r *rawWS) read(timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, b, err := r.ws.Read(ctx)
	return string(b), err
}

// expect reads the next frame and fails unless it has the given prefix, skipping
// v4 pings (answering them) when answerPings is set.
func (r *rawWS) expect(prefix string) string {
	r.t.Helper()
	for {
		s, err := r.read(5 * time.Second)
		if err != nil {
			r.t.Fatalf("waiting for %q: %v", prefix, err)
		}
		if s == "2" && prefix != "2" {
			r.send("3")
			continue
		}
		if !strings.HasPrefix(s, prefix) {
			r.t.Fatalf("got frame %q, want prefix %q", s, prefix)
		}
		return s
	}
}

// waitUntil polls cond until it holds or the deadline passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitGoroutines waits until the goroutine count drops back to at most base+slack.
func waitGoroutines(t *testing.T, base, slack int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base+slack {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("goroutine leak: %d goroutines, baseline %d\n%s", n, base, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// closeWithin closes srv and fails the test if Close does not return in time (a leaked
// server goroutine would block it forever).
func closeWithin(t *testing.T, srv *Server, timeout time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- srv.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(timeout):
		buf := make([]byte, 1<<20)
		t.Fatalf("Server.Close blocked for %v\n%s", timeout, buf[:runtime.Stack(buf, true)])
	}
}
