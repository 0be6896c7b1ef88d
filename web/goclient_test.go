package web

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
)

// goClientOptions keep the Go client's candidates on loopback and pion quiet.
var goClientOptions = participant.Options(rtc.Events{})

// joinRetry joins with fresh dev tokens until the portal is ready (it answers "Portal is not
// ready" for a moment after start).
func joinRetry(ctx context.Context, t *testing.T, srv server, room, user string) (*rtc.Client, *rtc.JoinInfo) {
	t.Helper()
	return participant.JoinReady(ctx, t, func() string { return devJoin(t, srv, room, user) }, goClientOptions)
}

// warmUp waits until a client can join, so that the browsers do not meet a starting server.
func warmUp(t *testing.T, srv server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _ := joinRetry(ctx, t, srv, "warm-up", "probe")
	_ = c.Leave(ctx)
	_ = c.Close()
}

// browserStream waits for a video stream owned by someone other than me.
func browserStream(ctx context.Context, c *rtc.Client, me string) (protocol.StreamInfo, error) {
	for {
		for _, s := range c.Streams() {
			var info protocol.ForwardInfo
			if err := json.Unmarshal(s.Info, &info); err != nil || info.Owner == me {
				continue
			}
			for _, tr := range s.Media.Tracks {
				if tr.Type == "video" {
					return s, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return protocol.StreamInfo{}, errNoStream
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// testBrowserAndGoClient: a browser page and a Go client in one room receive each other's
// video; the Go side counts decodable VP8 frames of the browser's fake camera.
func testBrowserAndGoClient(t *testing.T, srv server, art string) {
	ctx, cancel := context.WithTimeout(context.Background(), 75*time.Second)
	defer cancel()
	const room, peer = "browser-and-go", "Gopher"
	done := filepath.Join(t.TempDir(), "go-side-done")
	n := startNode(t, ctx, "gopeer.js", "PORTAL_URL="+srv.portal, "ROOM="+room, "PEER="+peer,
		"DONE_FILE="+done, envArtifacts+"="+art)

	c, info := joinRetry(ctx, t, srv, room, peer)
	defer c.Close()
	if _, err := c.Publish(ctx, participant.ClipTracks(t, webrtc.MimeTypeVP8), rtc.PublishOptions{}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	stream, err := browserStream(ctx, c, info.ID)
	if err != nil {
		t.Fatalf("%v (node output so far:\n%s)", err, n.output.String())
	}
	fc, err := media.NewFrameCounter(webrtc.MimeTypeVP8)
	if err != nil {
		t.Fatal(err)
	}
	var padding atomic.Int64
	// The page publishes with ?codec=vp8; another video codec ends the wait at once.
	fctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	_, err = c.Subscribe(ctx, stream, rtc.SubscribeOptions{Audio: true, Video: true,
		OnTrack: func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			mime := tr.Codec().MimeType
			switch {
			case strings.EqualFold(mime, webrtc.MimeTypeVP8):
				consumeMedia(tr, fc, &padding)
			case tr.Kind() == webrtc.RTPCodecTypeVideo:
				fail(fmt.Errorf("the browser's video arrives as %s, not VP8", mime))
			}
		}})
	if err != nil {
		t.Fatalf("subscribe to the browser: %v", err)
	}
	if err := fc.WaitDecodable(fctx, 30); err != nil {
		t.Fatalf("frames from the browser: %v, %v (%+v)", err, context.Cause(fctx), fc.Stats())
	}
	t.Logf("Go client decoded the browser's VP8: %+v", fc.Stats())
	t.Logf("padding-only packets left out: %d", padding.Load())
	waitLine(ctx, t, n, "BROWSER_OK")
	if err := os.WriteFile(done, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	n.wait(t)
	_ = c.Leave(ctx)
}

// waitLine waits for a line of the script's stdout.
func waitLine(ctx context.Context, t *testing.T, n *nodeScript, want string) {
	t.Helper()
	if strings.Contains(n.output.String(), want) {
		return
	}
	for {
		select {
		case l, ok := <-n.lines:
			if !ok {
				n.wait(t)
				t.Fatalf("the script ended before printing %s", want)
			}
			if strings.TrimSpace(l) == want {
				return
			}
		case <-ctx.Done():
			t.Fatalf("no %s from the browser: %v\n%s", want, ctx.Err(), n.output.String())
		}
	}
}

// consumeMedia feeds a track's packets to fc until the track ends, leaving out Chrome's
// padding-only packets (bandwidth probes carry no media but take sequence numbers, which the
// counter would see as losses) and renumbering the rest so that only real losses remain gaps.
// padding counts the packets left out.
func consumeMedia(tr *webrtc.TrackRemote, fc *media.FrameCounter, padding *atomic.Int64) {
	var skipped uint16
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if len(p.Payload) == 0 {
			skipped++
			padding.Add(1)
			continue
		}
		p.SequenceNumber -= skipped
		fc.Push(p)
	}
}
