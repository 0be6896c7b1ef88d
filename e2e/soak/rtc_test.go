package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/client/sio"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// loopbackClient are the options of media clients: loopback candidates only, pion's own
// logging off.
var loopbackClient = rtc.Options{LoopbackOnly: true, ConfigureSettings: func(se *webrtc.SettingEngine) {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelDisabled
	se.LoggerFactory = f
}}

// keyframeClip is a clip track whose source answers the server's keyframe requests.
type keyframeClip struct {
	*webrtc.TrackLocalStaticSample
	src *media.Source
}

// RequestKeyframe implements rtc.KeyframeRequester.
func (k keyframeClip) RequestKeyframe() { k.src.RequestKeyframe() }

// h264Tracks returns an Opus and an H.264 track fed from the looping test clips until the
// test ends.
func h264Tracks(t *testing.T) []webrtc.TrackLocal {
	t.Helper()
	v, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "video", "clip")
	if err != nil {
		t.Fatal(err)
	}
	a, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "clip")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	vt := keyframeClip{TrackLocalStaticSample: v, src: media.NewH264Source(v)}
	for _, src := range []*media.Source{vt.src, media.NewOpusSource(a)} {
		wg.Go(func() { _ = src.Run(ctx) })
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	return []webrtc.TrackLocal{a, vt}
}

// publish joins room as user and publishes the clip tracks; it returns the client and the
// stream id.
func publish(ctx context.Context, t *testing.T, c api, room, user string) (*rtc.Client, string) {
	t.Helper()
	cl, _ := joinRetry(ctx, t, func() string { return c.mustToken(t, room, user) }, loopbackClient)
	pub, err := cl.Publish(ctx, h264Tracks(t), rtc.PublishOptions{})
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
