package client

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/common/config"
	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/internal/allinone"
	"github.com/pion/webrtc/v4"
)

func loopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// restClient signs management API requests with MAuth (owt-protocol.md §2.4).
type restClient struct{ base, service, key string }

func (r restClient) do(t *testing.T, method, path string, body any) []byte {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, r.base+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	cnonce := hex.EncodeToString(nonce)
	m := hmac.New(sha256.New, []byte(r.key))
	m.Write([]byte(ts + "," + cnonce))
	sig := base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(m.Sum(nil))))
	req.Header.Set("Authorization", fmt.Sprintf("MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA256,mauth_serviceid=%s,mauth_cnonce=%s,mauth_timestamp=%s,mauth_signature=%s", r.service, cnonce, ts, sig))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, out)
	}
	return out
}

// startAllInOne runs Conclave in-process on loopback ports and returns its REST client.
func startAllInOne(t *testing.T) restClient {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Management.Listen = fmt.Sprintf("127.0.0.1:%d", loopbackPort(t))
	cfg.Portal.Listen = fmt.Sprintf("127.0.0.1:%d", loopbackPort(t))
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
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-done:
			t.Fatalf("all-in-one exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("management API not ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return restClient{base: base, service: cfg.SuperService.ID, key: cfg.SuperService.Key}
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
	if err := json.Unmarshal(api.do(t, "POST", "/v1/rooms", map[string]any{"name": "client-it"}), &room); err != nil || room.ID == "" {
		t.Fatalf("room: %v", err)
	}
	token := func(user string) string {
		return string(api.do(t, "POST", "/v1/rooms/"+room.ID+"/tokens", map[string]string{"user": user, "role": "presenter"}))
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
