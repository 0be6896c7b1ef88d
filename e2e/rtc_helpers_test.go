package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// loopbackWebRTC is the config section that keeps every ICE candidate and media link of a
// server process on 127.0.0.1.
const loopbackWebRTC = `webrtc:
  interfaces: [lo]
  includeLoopback: true
  mediaLinkListen: "127.0.0.1:0"
`

// loopbackClient are the client options of every test participant: loopback candidates
// only, and pion's own logging off (it reports harmless errors of closing connections).
var loopbackClient = rtc.Options{LoopbackOnly: true, ConfigureSettings: quietPion}

func quietPion(se *webrtc.SettingEngine) {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelDisabled
	se.LoggerFactory = f
}

// withConfigFile writes a YAML config file for one process and returns its path (pass it
// as CONCLAVE_CONFIG).
func withConfigFile(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "conclave.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// rtServer is a running all-in-one `conclave` process and its super service client.
type rtServer struct {
	proc *proc
	api  client
}

// startRealtimeAllInOne runs the all-in-one binary with loopback-only media and a known
// super service, and waits until its management API and portal answer.
func startRealtimeAllInOne(t *testing.T) rtServer {
	t.Helper()
	mport, pport := freePort(t), freePort(t)
	portalHost := fmt.Sprintf("127.0.0.1:%d", pport)
	superID, superKey := ids.ObjectID(), ids.RandomHex(32)
	env := []string{
		"CONCLAVE_CONFIG=" + withConfigFile(t, loopbackWebRTC),
		"CONCLAVE_DATA_DIR=" + t.TempDir(),
		fmt.Sprintf("CONCLAVE_MANAGEMENT_LISTEN=127.0.0.1:%d", mport),
		"CONCLAVE_PORTAL_LISTEN=" + portalHost,
		"CONCLAVE_PORTAL_PUBLIC_HOST=" + portalHost,
		"CONCLAVE_BUS_URL=", "CONCLAVE_MONGO_URI=", "CONCLAVE_CLUSTER_KEY=",
		"CONCLAVE_SUPER_SERVICE_ID=" + superID,
		"CONCLAVE_SUPER_SERVICE_KEY=" + superKey,
	}
	p := start(t, binary(t, "conclave"), env...)
	base := fmt.Sprintf("http://127.0.0.1:%d", mport)
	waitHTTP(t, p, base+"/healthz", 30*time.Second)
	waitHTTP(t, p, "http://"+portalHost+"/healthz", 30*time.Second)
	return rtServer{proc: p, api: client{base: base, serviceID: superID, key: superKey}}
}

// createRoom creates a room with the default settings and returns its id.
func createRoom(t *testing.T, api client, name string) string {
	t.Helper()
	var r roomJSON
	must(t, api.do(t, "POST", "/v1/rooms", map[string]any{"name": name}), http.StatusOK).decode(t, &r)
	if !ids.IsObjectID(r.ID) {
		t.Fatalf("room without id: %+v", r)
	}
	return r.ID
}

// newToken creates a join token; isp, when set, becomes the token's preference.
func newToken(t *testing.T, api client, roomID, user, role, isp string) string {
	t.Helper()
	body := map[string]any{"user": user, "role": role}
	if isp != "" {
		body["preference"] = map[string]string{"isp": isp}
	}
	return string(must(t, api.do(t, "POST", "/v1/rooms/"+roomID+"/tokens", body), http.StatusOK).Body)
}

// joinReady joins with a fresh token from token, retrying while the portal reports it is
// still starting (it learns about the conference agents from their announcements).
func joinReady(ctx context.Context, t *testing.T, token func() string, opts rtc.Options) (*rtc.Client, *rtc.JoinInfo) {
	t.Helper()
	for {
		c, info, err := rtc.Join(ctx, token(), opts)
		var se *rtc.ServerError
		if err == nil {
			t.Cleanup(func() { _ = c.Close() })
			return c, info
		}
		if !errors.As(err, &se) || se.Message != "Portal is not ready" {
			t.Fatalf("join: %v", err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("join: %v (%v)", err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// keyframeClip is a clip track whose source answers the server's keyframe requests (it
// implements rtc.KeyframeRequester), as a real encoder answers PLIs.
type keyframeClip struct {
	*webrtc.TrackLocalStaticSample
	src *media.Source
}

// RequestKeyframe implements rtc.KeyframeRequester.
func (k keyframeClip) RequestKeyframe() { k.src.RequestKeyframe() }

// clipTracks returns an Opus track and a video track of videoMime (VP8 or H.264), fed from
// the looping clips until the test ends; the video answers keyframe requests.
func clipTracks(t *testing.T, videoMime string) []webrtc.TrackLocal {
	t.Helper()
	vcap := webrtc.RTPCodecCapability{MimeType: videoMime, ClockRate: 90000}
	newSource := media.NewVP8Source
	if videoMime == webrtc.MimeTypeH264 {
		vcap.SDPFmtpLine = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
		newSource = media.NewH264Source
	}
	v, err := webrtc.NewTrackLocalStaticSample(vcap, "video", "clip")
	if err != nil {
		t.Fatal(err)
	}
	a, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "clip")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	vt := keyframeClip{TrackLocalStaticSample: v, src: newSource(v)}
	for _, src := range []*media.Source{vt.src, media.NewOpusSource(a)} {
		wg.Go(func() { _ = src.Run(ctx) })
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		t.Logf("clip %s: %d frames, %d keyframes (%d forced by keyframe requests)",
			videoMime, vt.src.Frames(), vt.src.Keyframes(), vt.src.ForcedKeyframes())
	})
	return []webrtc.TrackLocal{a, vt}
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

// dropEvent records a drop notification.
type dropEvent struct{}

// recorder keeps every notification a client received, so a test can wait for one that
// matches regardless of what arrived before it.
type recorder struct {
	mu   sync.Mutex
	evs  []any
	more chan struct{}
}

func newRecorder() *recorder { return &recorder{more: make(chan struct{})} }

// events are the callbacks to pass in Options.Events.
func (r *recorder) events() rtc.Events {
	return rtc.Events{
		Participant: func(ev protocol.ParticipantEvent) { r.add(ev) },
		Stream:      func(ev protocol.StreamEvent) { r.add(ev) },
		Text:        func(ev protocol.TextEvent) { r.add(ev) },
		Drop:        func() { r.add(dropEvent{}) },
	}
}

func (r *recorder) add(v any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, v)
	close(r.more)
	r.more = make(chan struct{})
}

// wait returns the first recorded event that matches, waiting for it until ctx ends.
func (r *recorder) wait(ctx context.Context, t *testing.T, what string, match func(any) bool) any {
	t.Helper()
	seen := 0
	for {
		r.mu.Lock()
		evs, more := r.evs, r.more
		r.mu.Unlock()
		for ; seen < len(evs); seen++ {
			if match(evs[seen]) {
				return evs[seen]
			}
		}
		select {
		case <-more:
		case <-ctx.Done():
			t.Fatalf("no %s: %v; received %+v", what, ctx.Err(), evs)
		}
	}
}

// streamEvent matches a stream event of status about id.
func streamEvent(status, id string) func(any) bool {
	return func(v any) bool {
		ev, ok := v.(protocol.StreamEvent)
		return ok && ev.Status == status && ev.ID == id
	}
}

// statusUpdate matches the stream update of field (audio.status, video.status) to value.
func statusUpdate(id, field, value string) func(any) bool {
	return func(v any) bool {
		ev, ok := v.(protocol.StreamEvent)
		if !ok || ev.Status != "update" || ev.ID != id {
			return false
		}
		u, ok := ev.Data.(protocol.StreamUpdate)
		return ok && u.Field == field && u.Value == value
	}
}

// pollREST polls a signed GET until ok accepts the answer or the deadline passes.
func pollREST(t *testing.T, api client, path string, within time.Duration, ok func(response) bool) response {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := api.do(t, "GET", path, nil)
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: still %d %s after %s", path, r.Status, r.Body, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
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

// envInt reads a positive integer setting from the environment.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}
