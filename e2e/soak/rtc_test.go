package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/client/sio"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
	"github.com/pion/webrtc/v4"
)

// publish joins room as user and publishes the clip tracks; it returns the client and the
// stream id.
func publish(ctx context.Context, t *testing.T, c e2eutil.RESTClient, room, user string) (*rtc.Client, string) {
	t.Helper()
	cl, _ := participant.JoinReady(ctx, t, func() string { return c.MustToken(t, room, user, "presenter", "") }, loopbackClient)
	pub, err := cl.Publish(ctx, participant.ClipTracks(t, webrtc.MimeTypeH264), rtc.PublishOptions{})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return cl, pub.ID()
}

// rawLogin connects to a portal with the bare Socket.IO client and logs in with token, so a
// test sees the signaling exactly as the server sends it (acks and disconnect reasons).
func rawLogin(ctx context.Context, t *testing.T, portal, token string) (*sio.Conn, []json.RawMessage) {
	t.Helper()
	conn, ack, err := tryRawLogin(ctx, portal, token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn, ack
}

// tryRawLogin is rawLogin returning its error (for test goroutines); the caller closes conn.
func tryRawLogin(ctx context.Context, portal, token string) (*sio.Conn, []json.RawMessage, error) {
	conn, err := sio.Dial(ctx, "http://"+portal, sio.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("dial portal: %w", err)
	}
	ack, err := conn.Emit(ctx, "login", map[string]any{"token": token, "protocol": "1.2",
		"userAgent": map[string]any{"sdk": map[string]string{"type": "Go", "version": "1.0"}}})
	if err != nil {
		_ = conn.Close()
		return nil, nil, fmt.Errorf("login: %w", err)
	}
	return conn, ack, nil
}

// ackStatus returns the first element of an acknowledgement ("ok" or "error") and the second
// as text.
func ackStatus(ack []json.RawMessage) (status, detail string) {
	if len(ack) > 0 {
		_ = json.Unmarshal(ack[0], &status)
	}
	if len(ack) > 1 {
		if json.Unmarshal(ack[1], &detail) != nil {
			detail = string(ack[1])
		}
	}
	return status, detail
}

// waitClosed waits (generously) for a connection to end and returns how long it took.
func waitClosed(t *testing.T, what string, done <-chan struct{}) time.Duration {
	t.Helper()
	begin := time.Now()
	select {
	case <-done:
		return time.Since(begin)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: connection still open", what)
		return 0
	}
}
