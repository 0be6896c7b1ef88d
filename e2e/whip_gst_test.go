package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
	"github.com/pion/webrtc/v4"
)

// TestE2EWHIPGStreamer publishes with Debian's simple-whip-client (GStreamer webrtcbin,
// libnice; its candidates trickled by PATCH): an OWT Go client decodes the test pattern and
// the tone, a recording of the stream has VP8 + Opus for as long as it ran, and the client's
// DELETE on Ctrl-C ends the stream and leaves nothing allocated.
func TestE2EWHIPGStreamer(t *testing.T) {
	needMediaTools(t)
	e2eutil.Need(t, e2eutil.WHIPClientBin+" (apt-get install simple-whip-client) and cc", e2eutil.OnPath(e2eutil.WHIPClientBin, "cc"))
	w := newWHIPRoom(t)
	baseTransports, baseGoroutines := w.baseline(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	started := time.Now()
	gst := e2eutil.StartWHIPClient(t, w.srv.portal+"/whip", w.token(t, "gstreamer", "presenter"), "vp8")
	stream, added, firstFrame := w.watchNewStream(ctx, t, nil, started, webrtc.MimeTypeVP8, 60)
	t.Logf("whip-client: start → stream add %s, start → first decoded frame at an OWT subscriber %s (process start and GStreamer pipeline included)",
		added.Sub(started), firstFrame)

	s := &sessionsRoom{api: w.srv.api, proc: w.srv.proc, room: w.room}
	p := s.recordFor(t, avFrom(stream.ID, stream.ID), ".mkv", 3*time.Second, "vp8", "opus")
	t.Logf("recording of the WHIP stream: %v, %s long", p.Codecs(), p.Duration)

	e2eutil.StopWHIPClient(gst)
	w.events.Wait(ctx, t, "stream remove", participant.StreamEvent("remove", stream.ID))
	w.waitReleased(t, baseTransports, baseGoroutines)
}
