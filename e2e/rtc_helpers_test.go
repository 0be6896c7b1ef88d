package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/pion/webrtc/v4"
)

// rtServer is a running all-in-one `conclave` process and its super service client.
type rtServer struct {
	proc   *e2eutil.Proc
	api    e2eutil.RESTClient
	portal string // http://host:port of the portal (signaling, WHIP and WHEP)
}

// startRealtimeAllInOne runs the all-in-one binary with loopback-only media and a known
// super service, and waits until its management API and portal answer. extraEnv (NAME=value)
// overrides the environment given to it.
func startRealtimeAllInOne(t *testing.T, extraEnv ...string) rtServer {
	t.Helper()
	mport, pport := e2eutil.FreePort(t), e2eutil.FreePort(t)
	portalHost := fmt.Sprintf("127.0.0.1:%d", pport)
	superID, superKey := ids.ObjectID(), ids.RandomHex(32)
	env := []string{
		"CONCLAVE_CONFIG=" + e2eutil.WriteConfig(t, e2eutil.LoopbackWebRTCConfig),
		"CONCLAVE_DATA_DIR=" + t.TempDir(),
		fmt.Sprintf("CONCLAVE_MANAGEMENT_LISTEN=127.0.0.1:%d", mport),
		"CONCLAVE_PORTAL_LISTEN=" + portalHost,
		"CONCLAVE_PORTAL_PUBLIC_HOST=" + portalHost,
		"CONCLAVE_BUS_URL=", "CONCLAVE_MONGO_URI=", "CONCLAVE_CLUSTER_KEY=",
		"CONCLAVE_SUPER_SERVICE_ID=" + superID,
		"CONCLAVE_SUPER_SERVICE_KEY=" + superKey,
	}
	p := e2eutil.Start(t, bins.Path(t, "conclave"), nil, append(env, extraEnv...)...)
	base := fmt.Sprintf("http://127.0.0.1:%d", mport)
	e2eutil.WaitHTTP(t, base+"/healthz", 30*time.Second, p)
	e2eutil.WaitHTTP(t, "http://"+portalHost+"/healthz", 30*time.Second, p)
	api := e2eutil.RESTClient{Base: base, ServiceID: superID, Key: superKey, OpenAPI: e2eutil.OpenAPIChecker(t)}
	t.Cleanup(func() {
		n, spent := api.OpenAPI.Stats()
		t.Logf("OpenAPI: %d management API exchanges of this test binary checked so far, in %s", n, spent.Round(time.Millisecond))
	})
	return rtServer{proc: p, api: api, portal: "http://" + portalHost}
}

// counters are frame counters by lower-case MIME type, fed by a subscription's tracks.
type counters map[string]*media.FrameCounter

func newCounters(t *testing.T) counters {
	t.Helper()
	out := counters{}
	for _, m := range []string{webrtc.MimeTypeVP8, webrtc.MimeTypeH264, webrtc.MimeTypeOpus} {
		fc, err := media.NewFrameCounter(m)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.ToLower(m)] = fc
	}
	return out
}

// onTrack consumes each remote track into the counter of its codec.
func (cs counters) onTrack(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	if fc := cs[strings.ToLower(tr.Codec().MimeType)]; fc != nil {
		_ = fc.Consume(tr)
	}
}

// wait waits for n decodable frames of mime.
func (cs counters) wait(ctx context.Context, t *testing.T, mime string, n int64) {
	t.Helper()
	fc := cs[strings.ToLower(mime)]
	if err := fc.WaitDecodable(ctx, n); err != nil {
		t.Fatalf("%s: %v (stats %+v)", mime, err, fc.Stats())
	}
}

// subscribeCounted subscribes stream and counts the frames of its tracks.
func subscribeCounted(ctx context.Context, t *testing.T, c *rtc.Client, stream protocol.StreamInfo) (*rtc.Subscription, counters) {
	t.Helper()
	cs := newCounters(t)
	sub, err := c.Subscribe(ctx, stream, rtc.SubscribeOptions{OnTrack: cs.onTrack})
	if err != nil {
		t.Fatalf("subscribe %s: %v", stream.ID, err)
	}
	return sub, cs
}

// pollREST polls a signed GET until ok accepts the answer or the deadline passes.
func pollREST(t *testing.T, api e2eutil.RESTClient, path string, within time.Duration, ok func(e2eutil.Response) bool) e2eutil.Response {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := api.Do(t, "GET", path, nil)
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: still %d %s after %s", path, r.Status, r.Body, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// candidatePorts returns the ports of the a=candidate lines of an SDP.
func candidatePorts(sdp string) []int {
	var out []int
	for line := range strings.Lines(sdp) {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "a="))
		if len(f) >= 6 && strings.HasPrefix(f[0], "candidate:") {
			if p, err := strconv.Atoi(f[5]); err == nil {
				out = append(out, p)
			}
		}
	}
	return out
}
