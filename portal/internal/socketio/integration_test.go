package socketio

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// roundTripText exercises multi-byte UTF-8, non-BMP characters (surrogate pairs in
// JavaScript, which v3 length prefixes count twice), combining marks, the v4 record
// separator and line separators.
const roundTripText = "héllo wörld — 你好, мир! 🎉👍🏽 e\u0301 \u001e \u2028 \"quoted\" <tag> & 💩𝄞"

// nodeEnv locates node and the installed test clients, skipping or failing the test as
// documented in the package's testdata/node.
func nodeEnv(t *testing.T) (node, dir string) {
	t.Helper()
	required := os.Getenv("CONCLAVE_REQUIRE_INTEGRATION") != ""
	node, err := exec.LookPath("node")
	if err != nil {
		if required {
			t.Fatalf("node not found but CONCLAVE_REQUIRE_INTEGRATION is set: %v", err)
		}
		t.Skip("node not found; skipping socket.io client integration tests")
	}
	dir, err = filepath.Abs(filepath.Join("testdata", "node"))
	if err != nil {
		t.Fatalf("abs: %v", err)
	}
	for _, pkg := range []string{"socket.io-client-v2", "socket.io-client-v4"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg)); err != nil {
			t.Fatalf("npm test clients missing (%v): run `npm ci --prefix portal/internal/socketio/testdata/node`", err)
		}
	}
	return node, dir
}

// clientResult is the JSON line printed by testdata/node/client.js.
type clientResult struct {
	OK             bool              `json:"ok"`
	Error          string            `json:"error"`
	ID             string            `json:"id"`
	Transport      string            `json:"transport"`
	EchoStatus     string            `json:"echoStatus"`
	EchoRoundTrip  bool              `json:"echoRoundTrip"`
	EchoArgs       int               `json:"echoArgs"`
	PushedRoundTip bool              `json:"pushedRoundTrip"`
	NullArgs       []json.RawMessage `json:"nullArgs"`
	Welcome        struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	} `json:"welcome"`
}

// serverObservations records what the server saw from one client.
type serverObservations struct {
	mu       sync.Mutex
	ids      []string
	texts    []string
	protocol int
	reasons  chan string
}

// echoApp installs the handlers the node client script expects.
func echoApp(obs *serverObservations) func(*Server) {
	return func(srv *Server) {
		srv.OnConnection(func(s *Socket) {
			obs.mu.Lock()
			obs.ids = append(obs.ids, s.ID())
			obs.protocol = s.Protocol()
			obs.mu.Unlock()
			s.On("echo", func(args []json.RawMessage, ack AckFunc) {
				var in struct{ Text string }
				_ = json.Unmarshal(args[0], &in)
				obs.mu.Lock()
				obs.texts = append(obs.texts, in.Text)
				obs.mu.Unlock()
				if ack != nil {
					_ = ack("ok", map[string]any{"text": in.Text, "args": len(args)})
				}
			})
			s.On("push", func(args []json.RawMessage, _ AckFunc) {
				var in struct{ Text string }
				_ = json.Unmarshal(args[0], &in)
				_ = s.Emit("pushed", in.Text)
			})
			s.On("nulls", func(args []json.RawMessage, ack AckFunc) {
				if ack != nil {
					_ = ack(args)
				}
			})
			s.OnDisconnect(func(reason string) { obs.reasons <- reason })
			_ = s.Emit("welcome", map[string]string{"id": s.ID(), "text": roundTripText})
		})
	}
}

// TestSocketIOIntegrationRealClients runs socket.io-client 2.5.0 (EIO=3) and 4.8.4
// (EIO=4) against the server on every transport mode.
func TestSocketIOIntegrationRealClients(t *testing.T) {
	node, dir := nodeEnv(t)
	modes := []struct{ mode, transport string }{
		{"upgrade", "websocket"},
		{"websocket", "websocket"},
		{"polling", "polling"},
	}
	for _, version := range []string{"v2", "v4"} {
		for _, m := range modes {
			t.Run(version+"/"+m.mode, func(t *testing.T) {
				t.Parallel()
				runNodeClient(t, node, dir, version, m.mode, m.transport)
			})
		}
	}
}

// runNodeClient runs one client combination and checks both sides' observations.
func runNodeClient(t *testing.T, node, dir, version, mode, wantTransport string) {
	obs := &serverObservations{reasons: make(chan string, 1)}
	_, base := startServer(t, Config{}, echoApp(obs))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	text, _ := json.Marshal(roundTripText)
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "client.js"), version, mode, base, string(text))
	cmd.Dir = dir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var res clientResult
	if jerr := json.Unmarshal([]byte(lastLine(string(out))), &res); jerr != nil {
		t.Fatalf("client output %q (run err %v, stderr %s): %v", out, err, stderr.String(), jerr)
	}
	if err != nil || !res.OK {
		t.Fatalf("client failed: %+v (err %v, stderr %s)", res, err, stderr.String())
	}
	checkClientResult(t, res, version, wantTransport)
	checkServerObservations(t, obs, res, version)
}

// checkClientResult verifies what the client reported.
func checkClientResult(t *testing.T, res clientResult, version, wantTransport string) {
	t.Helper()
	if res.Transport != wantTransport {
		t.Errorf("final transport = %q, want %q", res.Transport, wantTransport)
	}
	if res.EchoArgs != 2 {
		t.Errorf("server saw %d echo args, want 2", res.EchoArgs)
	}
	if res.Welcome.Text != roundTripText {
		t.Errorf("welcome text = %q, want %q", res.Welcome.Text, roundTripText)
	}
	if version == "v4" && res.ID != res.Welcome.ID {
		t.Errorf("client socket id %q != server socket id %q", res.ID, res.Welcome.ID)
	}
	// The client emitted ('nulls', 1, null, ack): both arguments, trailing null included,
	// reach the handler, which acks them back as one array.
	if len(res.NullArgs) != 1 || string(res.NullArgs[0]) != "[1,null]" {
		t.Errorf("nulls ack = %s, want [[1,null]]", res.NullArgs)
	}
}

// checkServerObservations verifies what the server saw.
func checkServerObservations(t *testing.T, obs *serverObservations, res clientResult, version string) {
	t.Helper()
	select {
	case reason := <-obs.reasons:
		if reason != reasonClientDisconnect && reason != reasonTransportClose {
			t.Errorf("disconnect reason = %q", reason)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server never saw the disconnect")
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	wantProto := map[string]int{"v2": 3, "v4": 4}[version]
	if obs.protocol != wantProto {
		t.Errorf("server protocol = %d, want %d", obs.protocol, wantProto)
	}
	if len(obs.ids) != 1 || obs.ids[0] != res.Welcome.ID {
		t.Errorf("server socket ids = %v", obs.ids)
	}
	if len(obs.texts) != 1 || obs.texts[0] != roundTripText {
		t.Errorf("server received text %q, want %q", obs.texts, roundTripText)
	}
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
