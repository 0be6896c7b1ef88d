package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/common/config"
	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/internal/allinone"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/pion/webrtc/v4"
)

// startAllInOne runs Conclave in-process on loopback ports and returns its REST client
// (the super service).
func startAllInOne(t *testing.T) e2eutil.RESTClient {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Management.Listen = fmt.Sprintf("127.0.0.1:%d", e2eutil.FreePort(t))
	cfg.Portal.Listen = fmt.Sprintf("127.0.0.1:%d", e2eutil.FreePort(t))
	cfg.WebRTC.Interfaces = []string{"lo"}
	cfg.WebRTC.IncludeLoopback = true
	cfg.WebRTC.MediaLinkListen = "127.0.0.1:0"
	cfg.SuperService.ID, cfg.SuperService.Key = ids.ObjectID(), ids.RandomHex(32)
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("CONCLAVE_TEST_VERBOSE") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- allinone.Run(ctx, cfg, log, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("all-in-one: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("all-in-one did not stop")
		}
	})
	base := "http://" + cfg.Management.Listen
	e2eutil.WaitUntil(t, "management API", 30*time.Second, func() bool {
		select {
		case err := <-done:
			t.Fatalf("all-in-one exited: %v", err)
		default:
		}
		return e2eutil.HTTPOK(base + "/healthz")
	})
	return e2eutil.RESTClient{Base: base, ServiceID: cfg.SuperService.ID, Key: cfg.SuperService.Key}
}

// joinWhenReady retries a join (with a fresh token) while the portal reports it is still
// starting.
func joinWhenReady(ctx context.Context, t *testing.T, token func() string, opts Options) (*Client, *JoinInfo, error) {
	for {
		c, info, err := Join(ctx, token(), opts)
		var se *ServerError
		if !errors.As(err, &se) || se.Message != "Portal is not ready" {
			return c, info, err
		}
		t.Logf("join: %v; retrying", err)
		select {
		case <-ctx.Done():
			return nil, nil, err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func TestClientIntegrationPublishSubscribe(t *testing.T) {
	api := startAllInOne(t)
	var room struct {
		ID string `json:"_id"`
	}
	if err := json.Unmarshal(e2eutil.Must(t, api.Do(t, "POST", "/v1/rooms", map[string]any{"name": "client-it"}), http.StatusOK).Body, &room); err != nil || room.ID == "" {
		t.Fatalf("room: %v", err)
	}
	token := func(user string) string {
		return string(e2eutil.Must(t, api.Do(t, "POST", "/v1/rooms/"+room.ID+"/tokens", map[string]string{"user": user, "role": "presenter"}), http.StatusOK).Body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	added := make(chan protocol.StreamInfo, 4)
	b, _, err := joinWhenReady(ctx, t, func() string { return token("bob") }, Options{LoopbackOnly: true, Events: Events{Stream: func(ev protocol.StreamEvent) {
		if info, ok := StreamInfoOf(ev); ok && ev.Status == "add" {
			added <- info
		}
	}}})
	if err != nil {
		t.Fatalf("Join bob: %v", err)
	}
	defer b.Close()
	a, infoA, err := Join(ctx, token("alice"), Options{LoopbackOnly: true})
	if err != nil {
		t.Fatalf("Join alice: %v", err)
	}
	defer a.Close()
	if len(infoA.Room.Participants) != 2 {
		t.Errorf("alice sees participants %+v", infoA.Room.Participants)
	}
	pub, err := a.Publish(ctx, newTracks(t), PublishOptions{})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	var stream protocol.StreamInfo
	select {
	case stream = <-added:
	case <-ctx.Done():
		t.Fatal("bob saw no stream add")
	}
	if stream.ID != pub.ID() {
		t.Fatalf("added %s, published %s", stream.ID, pub.ID())
	}
	counters := map[string]*media.FrameCounter{}
	for _, m := range []string{webrtc.MimeTypeVP8, webrtc.MimeTypeOpus} {
		counters[m], _ = media.NewFrameCounter(m)
	}
	sub, err := b.Subscribe(ctx, stream, SubscribeOptions{OnTrack: func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if fc := counters[tr.Codec().MimeType]; fc != nil {
			_ = fc.Consume(tr)
		}
	}})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if err := counters[webrtc.MimeTypeVP8].WaitDecodable(ctx, 60); err != nil {
		t.Fatalf("video: %v (%+v)", err, counters[webrtc.MimeTypeVP8].Stats())
	}
	if err := counters[webrtc.MimeTypeOpus].WaitDecodable(ctx, 100); err != nil {
		t.Fatalf("audio: %v (%+v)", err, counters[webrtc.MimeTypeOpus].Stats())
	}
	if err := sub.Unsubscribe(ctx); err != nil {
		t.Errorf("Unsubscribe: %v", err)
	}
	if err := pub.Unpublish(ctx); err != nil {
		t.Errorf("Unpublish: %v", err)
	}
	for _, c := range []*Client{a, b} {
		if err := c.Leave(ctx); err != nil {
			t.Errorf("Leave: %v", err)
		}
	}
}
