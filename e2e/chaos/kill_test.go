package chaos

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/common/testutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
)

// contractBound is the generous deadline for every recovery the failure contract promises
// (the contract says 5 s for a dead media agent; the tests log the real figure).
const contractBound = 15 * time.Second

// killRoom is the live room the kill scenarios share: xavier observes, alice publishes and
// bob subscribes.
type killRoom struct {
	d          *deployment
	life       *testing.T // the whole test: alice's clips play as long as it runs
	room       string
	rec        *recovery
	evX, evB   *participant.Recorder
	alice, bob *rtc.Client
	stream     string // alice's live publication
}

func (k *killRoom) token(t *testing.T, user string) func() string {
	return func() string { return k.d.api.MustToken(t, k.room, user, "presenter", "") }
}

// TestChaosProcessKills runs a distributed deployment with two of each of portal,
// conference agent, webrtc agent and mixing agent plus a recording and a streaming agent, and
// kills one
// process after another with SIGKILL during a live call (docs/architecture.md §9).
func TestChaosProcessKills(t *testing.T) {
	e2eutil.Need(t, "ffprobe", e2eutil.OnPath("ffprobe", "ffmpeg"))
	amqpURL, mongoURI := testutil.AMQPURL(t), testutil.MongoURI(t)
	rtmpPort := e2eutil.StartRTMP(t).Port
	d := deploy(t, amqpURL, mongoURI, shape{portals: 2, conferences: 2, webrtcs: 2, recordings: 1, streamings: 1, mixings: 2})
	k := &killRoom{d: d, life: t, room: d.api.CreateRoom(t, "chaos-kills"), rec: &recovery{}, evX: participant.NewRecorder(), evB: participant.NewRecorder()}
	defer k.rec.log(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	join(ctx, t, k.token(t, "xavier"), k.evX)
	k.alice, _ = join(ctx, t, k.token(t, "alice"), nil)
	k.bob, _ = join(ctx, t, k.token(t, "bob"), k.evB)

	steps := []struct {
		name string
		run  func(context.Context, *testing.T, *killRoom)
	}{
		{"WebRTCAgent", killWebRTCAgent},
		{"MixingAgent", killMixingAgent},
		{"RecordingAgent", killRecordingAgent},
		{"StreamingAgent", func(ctx context.Context, t *testing.T, k *killRoom) { killStreamingAgent(ctx, t, k, rtmpPort) }},
		{"Portal", killPortal},
		{"ConferenceAgent", killConferenceAgent},
	}
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) { s.run(ctx, t, k) }) {
			return // later steps build on the state the failed one should have left
		}
	}
}

// killWebRTCAgent kills the agent serving alice's publication: bob sees the stream removed,
// both sessions end with a progress error, and alice republishes on the other agent.
func killWebRTCAgent(ctx context.Context, t *testing.T, k *killRoom) {
	pub := publish(ctx, t, k.life, k.alice, k.evB)
	sub := subscribe(ctx, t, k.bob, pub.ID())
	i, victim := k.d.webrtcServing(t, pub.PeerConnection().RemoteDescription().SDP)
	at := victim.Kill(t)
	wctx, cancel := context.WithTimeout(ctx, contractBound)
	defer cancel()
	removed := k.evB.WaitAt(wctx, t, "stream remove after the webrtc agent died", participant.StreamEvent("remove", pub.ID()))
	pubEnd := ended(wctx, t, "alice's publication", pub.Done())
	subEnd := ended(wctx, t, "bob's subscription", sub.Done())
	serverError(t, "alice's publication", pub.Err())
	serverError(t, "bob's subscription", sub.Err())
	k.rec.add(t, "kill -9 webrtc agent", "stream remove at the subscriber", removed.Sub(at))
	k.rec.add(t, "kill -9 webrtc agent", "progress error at the publisher", pubEnd.Sub(at))
	k.rec.add(t, "kill -9 webrtc agent", "progress error at the subscriber", subEnd.Sub(at))

	again := publish(ctx, t, k.life, k.alice, k.evB)
	if j, _ := k.d.webrtcServing(t, again.PeerConnection().RemoteDescription().SDP); j == i {
		t.Fatalf("republished on the dead webrtc agent %d", i)
	}
	subscribe(ctx, t, k.bob, again.ID())
	k.rec.add(t, "kill -9 webrtc agent", "republished and subscribed on the live agent", time.Since(at))
	k.stream = again.ID()
}

// killMixingAgent kills the mixing agent producing the room's mixed stream while bob watches
// it (with alice's stream mixed in): bob's subscription ends with a progress error, the
// conference agent restarts the mix on the other mixing agent, and bob subscribes again.
func killMixingAgent(ctx context.Context, t *testing.T, k *killRoom) {
	mixID := k.room + "-common"
	if _, ok := k.bob.Stream(mixID); !ok {
		t.Fatalf("mixed stream %s not announced", mixID)
	}
	e2eutil.Must(t, k.d.api.Do(t, "PATCH", "/v1/rooms/"+k.room+"/streams/"+k.stream,
		[]map[string]any{{"op": "add", "path": "/info/inViews", "value": "common"}}), http.StatusOK)
	sub := subscribe(ctx, t, k.bob, mixID)
	i, victim := k.d.mixerOf(t, mixID)
	other := k.d.mixers[1-i]
	at := victim.Kill(t)
	wctx, cancel := context.WithTimeout(ctx, contractBound)
	defer cancel()
	subEnd := ended(wctx, t, "bob's subscription of the mixed stream", sub.Done())
	serverError(t, "bob's subscription of the mixed stream", sub.Err())
	k.rec.add(t, "kill -9 mixing agent", "progress error at the mixed stream's subscriber", subEnd.Sub(at))
	other.WaitOutput(t, "the mix restarted on the other mixing agent", contractBound, func(out string) bool {
		return hasLine(out, `msg="mix started"`, "mix="+mixID+" ")
	})
	k.rec.add(t, "kill -9 mixing agent", "mix restarted on the other mixing agent", time.Since(at))
	subscribe(ctx, t, k.bob, mixID)
	k.rec.add(t, "kill -9 mixing agent", "mixed stream subscribed again", time.Since(at))
}

// avFrom is the media of a recording or streaming-out taking both kinds from stream.
func avFrom(stream string) map[string]any {
	return map[string]any{"audio": map[string]any{"from": stream}, "video": map[string]any{"from": stream}}
}

// leftActive polls a room's sessions of kind until id is gone or listed as failed (as a
// session `failed` event leaves it: "error: <reason>", kept for the failed-session TTL), and
// returns when that was seen and the status it had then ("" = gone).
func leftActive(t *testing.T, k *killRoom, kind, id string) (time.Time, string) {
	t.Helper()
	deadline := time.Now().Add(contractBound)
	for {
		status := statusOf(t, k, kind, id)
		if status == "" || strings.HasPrefix(status, "error: ") {
			return time.Now(), status
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s still %q %s after its agent died", kind, id, status, contractBound)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitActive polls until the session id of kind is listed as active; false after the
// contract bound.
func waitActive(t *testing.T, k *killRoom, kind, id string) bool {
	t.Helper()
	deadline := time.Now().Add(contractBound)
	for statusOf(t, k, kind, id) != "active" {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// killRecordingAgent kills the recording agent mid-recording: the recording leaves the
// active list and what it wrote stays decodable.
func killRecordingAgent(_ context.Context, t *testing.T, k *killRoom) {
	var r session
	mustJSON(t, k.d.api, "POST", "/v1/rooms/"+k.room+"/recordings", map[string]any{"container": "mkv", "media": avFrom(k.stream)}, &r)
	if r.Storage == nil || r.Storage.File == "" {
		t.Fatalf("recording answer without storage: %+v", r)
	}
	file := r.Storage.File
	if !filepath.IsAbs(file) {
		file = filepath.Join(k.d.recDir, file)
	}
	// Let it write some media (the file grows as media arrives) before the kill.
	if !waitActive(t, k, "recordings", r.ID) || !grows(file, 64<<10) {
		t.Fatalf("recording %s got no media within %s: status %q, %d bytes written", r.ID, contractBound,
			statusOf(t, k, "recordings", r.ID), sizeOf(file))
	}
	at := k.d.recs[0].Kill(t)
	gone, status := leftActive(t, k, "recordings", r.ID)
	k.rec.add(t, "kill -9 recording agent", "recording failed ("+cut(status)+")", gone.Sub(at))
	info := e2eutil.Probe(t, file)
	_, vp8 := info.Stream("vp8")
	_, opus := info.Stream("opus")
	empty := slices.ContainsFunc(info.Streams, func(s e2eutil.MediaStream) bool { return s.Packets == 0 })
	if !vp8 || !opus || empty {
		t.Fatalf("%s after the kill: %+v", file, info.Streams)
	}
	t.Logf("recording left by the killed agent: %+v", info.Streams)
}

// grows polls until file is larger than size; false after the contract bound.
func grows(file string, size int64) bool {
	deadline := time.Now().Add(contractBound)
	for sizeOf(file) <= size {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

func sizeOf(file string) int64 {
	fi, err := os.Stat(file)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// statusOf is the listed status of session id of kind ("" = not listed).
func statusOf(t *testing.T, k *killRoom, kind, id string) string {
	t.Helper()
	for _, s := range sessions(t, k.d.api, k.room, kind) {
		if s.ID == id {
			return s.Status
		}
	}
	return ""
}

// cut shortens a session status for the recovery table.
func cut(status string) string {
	if status == "" {
		return "gone"
	}
	if len(status) > 30 {
		return status[:30] + "…"
	}
	return status
}

// killStreamingAgent kills the streaming agent during a streaming-out: it leaves the active
// list, and its ffmpeg dies with it.
func killStreamingAgent(_ context.Context, t *testing.T, k *killRoom, rtmpPort int) {
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/chaos%d", rtmpPort, time.Now().UnixNano())
	var o session
	mustJSON(t, k.d.api, "POST", "/v1/rooms/"+k.room+"/streaming-outs", map[string]any{"protocol": "rtmp", "url": url, "media": avFrom(k.stream)}, &o)
	if !waitActive(t, k, "streaming-outs", o.ID) {
		t.Fatalf("streaming-out %s not active within %s: %q", o.ID, contractBound, statusOf(t, k, "streaming-outs", o.ID))
	}
	if len(processesWith(url)) == 0 {
		t.Fatalf("no ffmpeg streams to %s", url)
	}
	at := k.d.streams[0].Kill(t)
	gone, status := leftActive(t, k, "streaming-outs", o.ID)
	k.rec.add(t, "kill -9 streaming agent", "streaming-out failed ("+cut(status)+")", gone.Sub(at))
	deadline := time.Now().Add(contractBound)
	for len(processesWith(url)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("ffmpeg %v outlived its streaming agent", processesWith(url))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processesWith lists the pids whose command line contains s.
func processesWith(s string) []string {
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var out []string
	for _, f := range dirs {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), s) {
			out = append(out, filepath.Base(filepath.Dir(f)))
		}
	}
	return out
}

// killPortal kills the portal carol is connected to: her connection ends and she rejoins
// with a new token, which names the surviving portal.
func killPortal(ctx context.Context, t *testing.T, k *killRoom) {
	carol, _ := join(ctx, t, k.token(t, "carol"), nil)
	var victim *member
	for i, p := range k.d.portals {
		if strings.HasSuffix(carol.Token().Host, fmt.Sprintf(":%d", p.port)) {
			victim = &k.d.portals[i]
		}
	}
	if victim == nil {
		t.Fatalf("carol's portal %s is not in the deployment", carol.Token().Host)
	}
	at := victim.Kill(t)
	wctx, cancel := context.WithTimeout(ctx, contractBound)
	defer cancel()
	lost := ended(wctx, t, "carol's connection", carol.SignalingDone())
	k.rec.add(t, "kill -9 portal", "client sees its connection closed", lost.Sub(at))
	again, _ := join(wctx, t, k.token(t, "carol"), nil)
	if again.Token().Host == carol.Token().Host {
		t.Fatalf("rejoined through the dead portal %s", carol.Token().Host)
	}
	k.rec.add(t, "kill -9 portal", "rejoined through the other portal", time.Since(at))
}

// killConferenceAgent kills the agent owning the room: its participants get `drop`, and a
// new join makes the room live on the other conference agent, where media works again.
func killConferenceAgent(ctx context.Context, t *testing.T, k *killRoom) {
	evD, evE := participant.NewRecorder(), participant.NewRecorder()
	dave, _ := join(ctx, t, k.token(t, "dave"), evD)
	join(ctx, t, k.token(t, "erin"), evE)
	publish(ctx, t, t, dave, evE)
	live := func(out string) bool { return hasLine(out, `msg="room is live"`, "room="+k.room) }
	owner := -1
	for i, c := range k.d.confs {
		if live(c.Output()) {
			owner = i
		}
	}
	if owner < 0 {
		t.Fatal("no conference agent reports the room live")
	}
	// The portal checks a fresh participant's agent only after its grace (5 s): the drops
	// measured below include what is left of it.
	at := k.d.confs[owner].Kill(t)
	wctx, cancel := context.WithTimeout(ctx, contractBound)
	defer cancel()
	for name, ev := range map[string]*participant.Recorder{"dave": evD, "erin": evE} {
		got := ev.WaitAt(wctx, t, "drop for "+name, participant.IsDrop)
		k.rec.add(t, "kill -9 conference agent", "drop at "+name, got.Sub(at))
	}
	evF, evG := participant.NewRecorder(), participant.NewRecorder()
	frank, took := join(wctx, t, k.token(t, "frank"), evF)
	k.rec.add(t, "kill -9 conference agent", "new join succeeded (join itself "+took.Round(time.Millisecond).String()+")", time.Since(at))
	other := k.d.confs[1-owner]
	if !live(other.Output()) {
		t.Fatal("the surviving conference agent does not report the room live")
	}
	gina, _ := join(wctx, t, k.token(t, "gina"), evG)
	pub := publish(wctx, t, t, frank, evG)
	subscribe(wctx, t, gina, pub.ID())
	k.rec.add(t, "kill -9 conference agent", "publish + subscribe work again", time.Since(at))
}
