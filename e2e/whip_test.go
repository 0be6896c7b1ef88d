package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/client/whip"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
	"github.com/pion/webrtc/v4"
)

// whipRoom is a running all-in-one with a room, an observer that sees stream events, and a
// pion API restricted to loopback for WHIP/WHEP peers.
type whipRoom struct {
	srv    rtServer
	room   string
	obs    *rtc.Client
	events *participant.Recorder
	api    *webrtc.API
	http   *http.Client
}

func newWHIPRoom(t *testing.T) *whipRoom {
	t.Helper()
	srv := startRealtimeAllInOne(t)
	w := &whipRoom{srv: srv, room: srv.api.CreateRoom(t, "whip"), events: participant.NewRecorder(),
		// No keep-alive: a server connection's goroutines end with each request, so the
		// goroutine count can return to its baseline.
		http: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 20 * time.Second}}
	api, err := rtc.NewAPI(rtc.Options{LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	w.api = api
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := loopbackClient
	opts.Events = w.events.Events()
	w.obs, _ = participant.JoinReady(ctx, t, func() string { return w.token(t, "observer", "presenter") }, opts)
	return w
}

func (w *whipRoom) token(t *testing.T, user, role string) string {
	return w.srv.api.MustToken(t, w.room, user, role, "")
}

func (w *whipRoom) opts(token string, onTrack func(*webrtc.TrackRemote, *webrtc.RTPReceiver)) whip.Options {
	return whip.Options{Token: token, API: w.api, HTTP: w.http, Trickle: true, OnTrack: onTrack}
}

// metric reads one unlabelled sample of the all-in-one's /metrics.
func (w *whipRoom) metric(t *testing.T, name string) float64 {
	t.Helper()
	r := w.srv.api.Do(t, "GET", "/metrics", nil)
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return f
			}
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// baseline returns the transports and goroutines of the settled server: the room's start
// (its mixed view, the observer's subscription set-up) goes on for a moment after the join,
// so the goroutine count is read until three reads 200 ms apart agree.
func (w *whipRoom) baseline(t *testing.T) (transports, goroutines float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	same, last := 0, -1.0
	for same < 3 && time.Now().Before(deadline) {
		g := w.metric(t, "go_goroutines")
		if g == last {
			same++
		} else {
			same, last = 1, g
		}
		time.Sleep(200 * time.Millisecond)
	}
	return w.metric(t, "conclave_webrtc_transports"), last
}

// participants returns the ids of the room's participants.
func (w *whipRoom) participants(t *testing.T) []string {
	t.Helper()
	var list []struct {
		ID string `json:"id"`
	}
	e2eutil.Must(t, w.srv.api.Do(t, "GET", "/v1/rooms/"+w.room+"/participants", nil), http.StatusOK).Decode(t, &list)
	out := make([]string, 0, len(list))
	for _, p := range list {
		out = append(out, p.ID)
	}
	return out
}

// waitReleased waits until only the observer is in the room, no WebRTC transport but the
// observer's is left, and the process has no more goroutines than at baseline.
func (w *whipRoom) waitReleased(t *testing.T, transports, goroutines float64) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		p, tr, g := w.participants(t), w.metric(t, "conclave_webrtc_transports"), w.metric(t, "go_goroutines")
		if len(p) == 1 && p[0] == w.obs.ID() && tr <= transports && g <= goroutines {
			t.Logf("released: participants %v, transports %.0f, goroutines %.0f (baseline %.0f)", p, tr, g, goroutines)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still allocated: participants %v (want only %s), transports %.0f (want %.0f), goroutines %.0f (baseline %.0f)",
				p, w.obs.ID(), tr, transports, g, goroutines)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// streamAdded waits for the `stream add` of a forward stream not in skip and returns it.
func (w *whipRoom) streamAdded(ctx context.Context, t *testing.T, skip map[string]bool) (protocol.StreamInfo, time.Time) {
	t.Helper()
	var info protocol.StreamInfo
	at := w.events.WaitAt(ctx, t, "stream add", func(v any) bool {
		ev, ok := v.(protocol.StreamEvent)
		if !ok || ev.Status != "add" || skip[ev.ID] {
			return false
		}
		got, ok := rtc.StreamInfoOf(ev)
		if ok && got.Type == "forward" {
			info = got
		}
		return ok && got.Type == "forward"
	})
	return info, at
}

// watchNewStream waits for a forward stream not in skip, has the observer subscribe it and decode
// frames frames of video (of mime) and of audio. It returns the stream, when it was added and
// how long after since its first video frame was decoded.
func (w *whipRoom) watchNewStream(ctx context.Context, t *testing.T, skip map[string]bool, since time.Time, mime string, frames int64) (protocol.StreamInfo, time.Time, time.Duration) {
	t.Helper()
	stream, added := w.streamAdded(ctx, t, skip)
	_, counts := subscribeCounted(ctx, t, w.obs, stream)
	counts.wait(ctx, t, mime, 1)
	first := time.Since(since)
	counts.wait(ctx, t, webrtc.MimeTypeOpus, frames)
	counts.wait(ctx, t, mime, frames)
	return stream, added, first
}

// TestE2EWHIP publishes with a pion WHIP client (trickle by PATCH) into a room where an
// OWT Go client decodes it, plays the stream back with a pion WHEP client (trickle, ICE
// restart, DELETE), and checks that bad requests get their RFC status and leave nothing
// allocated.
func TestE2EWHIP(t *testing.T) {
	w := newWHIPRoom(t)
	baseTransports, baseGoroutines := w.baseline(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	posted := time.Now()
	pub, err := whip.Publish(ctx, w.srv.portal+"/whip", participant.ClipTracks(t, webrtc.MimeTypeVP8), w.opts(w.token(t, "encoder", "presenter"), nil))
	if err != nil {
		t.Fatalf("WHIP publish: %v", err)
	}
	stream, added, firstFrame := w.watchNewStream(ctx, t, nil, posted, webrtc.MimeTypeVP8, 30)
	if n, err := pub.Trickled(); n == 0 || err != nil {
		t.Fatalf("WHIP trickle: %d candidates sent, err %v", n, err)
	}
	t.Logf("WHIP publish: POST → stream add %s, POST → first decoded frame at an OWT subscriber %s", added.Sub(posted), firstFrame)
	if links := pub.Links(); len(links) == 0 || !strings.Contains(links[0], `rel="ice-server"`) {
		t.Fatalf("Link headers %q: want the all-in-one's STUN/TURN servers", links)
	}
	// The WHIP stream is a forward stream like any: it goes into the mixed view by REST.
	e2eutil.Must(t, w.srv.api.Do(t, "PATCH", "/v1/rooms/"+w.room+"/streams/"+stream.ID,
		[]map[string]any{{"op": "add", "path": "/info/inViews", "value": "common"}}), http.StatusOK)

	playCounts := newCounters(t)
	played := time.Now()
	play, err := whip.Play(ctx, w.srv.portal+"/whep/"+stream.ID, []string{"audio", "video"}, w.opts(w.token(t, "viewer", "viewer"), playCounts.onTrack))
	if err != nil {
		t.Fatalf("WHEP play: %v", err)
	}
	playCounts.wait(ctx, t, webrtc.MimeTypeVP8, 1)
	t.Logf("WHEP play: POST → first decoded frame %s", time.Since(played))
	playCounts.wait(ctx, t, webrtc.MimeTypeOpus, 10)
	if n, err := play.Trickled(); n == 0 || err != nil {
		t.Fatalf("WHEP trickle: %d candidates sent, err %v", n, err)
	}
	before := playCounts[strings.ToLower(webrtc.MimeTypeVP8)].Stats().Frames
	if err := play.RestartICE(ctx); err != nil {
		t.Fatalf("WHEP ICE restart: %v", err)
	}
	playCounts.wait(ctx, t, webrtc.MimeTypeVP8, int64(before)+30)

	checkWHEPMixed(ctx, t, w)
	if err := play.Close(ctx); err != nil {
		t.Fatalf("WHEP DELETE: %v", err)
	}
	if err := play.Close(ctx); !errors.Is(err, whip.ErrClosed) {
		t.Fatalf("second Close = %v, want ErrClosed", err)
	}
	checkWHIPStatus(t, w, "DELETE", play.Resource(), "", "", "", http.StatusNotFound)
	if err := pub.Close(ctx); err != nil {
		t.Fatalf("WHIP DELETE: %v", err)
	}
	w.events.Wait(ctx, t, "stream remove", participant.StreamEvent("remove", stream.ID))
	checkStreamKey(ctx, t, w, map[string]bool{stream.ID: true})
	checkWHIPBadInput(t, w)
	w.waitReleased(t, baseTransports, baseGoroutines)
}

// checkStreamKey publishes with a stream key made by signed REST, then revokes it: the key
// no longer opens a session.
func checkStreamKey(ctx context.Context, t *testing.T, w *whipRoom, skip map[string]bool) {
	t.Helper()
	var k struct{ ID, Key string }
	path := "/v1/rooms/" + w.room + "/streamkeys"
	e2eutil.Must(t, w.srv.api.Do(t, "POST", path, map[string]string{"user": "obs", "role": "presenter"}), http.StatusOK).Decode(t, &k)
	pub, err := whip.Publish(ctx, w.srv.portal+"/whip", participant.ClipTracks(t, webrtc.MimeTypeH264), w.opts(k.Key, nil))
	if err != nil {
		t.Fatalf("WHIP publish with a stream key: %v", err)
	}
	stream, _, _ := w.watchNewStream(ctx, t, skip, time.Now(), webrtc.MimeTypeH264, 10)
	if err := pub.Close(ctx); err != nil {
		t.Fatalf("DELETE: %v", err)
	}
	w.events.Wait(ctx, t, "stream remove", participant.StreamEvent("remove", stream.ID))
	e2eutil.Must(t, w.srv.api.Do(t, "DELETE", path+"/"+k.ID, nil), http.StatusOK)
	checkWHIPStatus(t, w, "POST", "/whip", "application/sdp", k.Key, whipOffer, http.StatusUnauthorized)
}

// checkWHEPMixed plays the room's mixed view (POST /whep, no stream) and decodes its video.
func checkWHEPMixed(ctx context.Context, t *testing.T, w *whipRoom) {
	t.Helper()
	counts := newCounters(t)
	posted := time.Now()
	mixed, err := whip.Play(ctx, w.srv.portal+"/whep?view=common", []string{"audio", "video"}, w.opts(w.token(t, "mixviewer", "viewer"), counts.onTrack))
	if err != nil {
		t.Fatalf("WHEP play of the mixed view: %v", err)
	}
	counts.wait(ctx, t, webrtc.MimeTypeVP8, 10)
	t.Logf("WHEP play of the mixed view: POST → 10 decoded frames %s", time.Since(posted))
	if err := mixed.Close(ctx); err != nil {
		t.Fatalf("WHEP DELETE of the mixed view: %v", err)
	}
}
