package web

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/pion/webrtc/v4"
)

// testWHEP: Debian's simple-whip-client publishes a test pattern and a tone over WHIP; a Go
// client in the room decodes them, and Chromium plays the stream with the WHEP player page
// (trickle by PATCH, DELETE on Stop).
func testWHEP(t *testing.T, srv server, art string) {
	e2eutil.Need(t, e2eutil.WHIPClientBin+" (apt-get install simple-whip-client) and cc", e2eutil.OnPath(e2eutil.WHIPClientBin, "cc"))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	room := "whep"
	watcher, info := joinRetry(ctx, t, srv, room, "watcher")
	defer watcher.Close()

	started := time.Now()
	gst := e2eutil.StartWHIPClient(t, srv.portal+"/whip", devJoin(t, srv, room, "gstreamer"), "vp8")
	stream, err := forwardStream(ctx, watcher, info.ID)
	if err != nil {
		t.Fatalf("no stream from whip-client: %v\n%s", err, e2eutil.Tail(gst.Output(), 4000))
	}
	counts, err := media.NewFrameCounter(webrtc.MimeTypeVP8)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watcher.Subscribe(ctx, stream, rtc.SubscribeOptions{Video: true, OnTrack: func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		_ = counts.Consume(tr)
	}}); err != nil {
		t.Fatalf("Go subscribe: %v", err)
	}
	if err := counts.WaitDecodable(ctx, 30); err != nil {
		t.Fatalf("Go client: %v (stats %+v)", err, counts.Stats())
	}
	t.Logf("whip-client start → 30 frames decoded by the Go client: %s", time.Since(started))

	frag := url.Values{"token": {devJoin(t, srv, room, "player")}, "stream": {stream.ID}}
	n := startNode(t, ctx, "whep.js", "PLAYER_URL="+srv.portal+"/whep-player#"+frag.Encode(), "CONCLAVE_ARTIFACTS="+art)
	res := n.wait(t)
	t.Logf("WHEP player in Chromium: %s (page open → first frame %s)", res.Test, firstLine(n.output.String(), "PLAYING "))
	e2eutil.StopWHIPClient(gst)
}

// forwardStream waits for a forward stream (not the mixed view) owned by someone other than
// me.
func forwardStream(ctx context.Context, c *rtc.Client, me string) (protocol.StreamInfo, error) {
	for {
		for _, s := range c.Streams() {
			var info protocol.ForwardInfo
			if s.Type == "forward" && json.Unmarshal(s.Info, &info) == nil && info.Owner != me {
				return s, nil
			}
		}
		select {
		case <-ctx.Done():
			return protocol.StreamInfo{}, errNoStream
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// firstLine returns the rest of the first output line starting with prefix.
func firstLine(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			return v + " ms"
		}
	}
	return "?"
}
