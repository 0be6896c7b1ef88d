package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
	"github.com/pion/webrtc/v4"
)

// sessionsRoom is a live room of the all-in-one binary with three published streams: a and
// b send VP8 + Opus, c sends H.264 + Opus. The observer x sees every notification.
type sessionsRoom struct {
	api     e2eutil.RESTClient
	proc    *e2eutil.Proc
	room    string
	a, b, c string // stream ids
	x       *rtc.Client
	events  *participant.Recorder
	rtmp    *e2eutil.RTMPServer
}

// path is a room resource path under API version v ("v1" or "v1.1").
func (s *sessionsRoom) path(v, rest string) string {
	return "/" + v + "/rooms/" + s.room + "/" + rest
}

// avFrom is an OutMedia body taking both kinds from stream (false leaves a kind out).
func avFrom(audio, video any) map[string]any {
	kind := func(v any) any {
		if id, ok := v.(string); ok {
			return map[string]any{"from": id}
		}
		return v
	}
	return map[string]any{"audio": kind(audio), "video": kind(video)}
}

// restSession is what the REST API answers for a recording or a streaming-out.
type restSession struct {
	ID       string          `json:"id"`
	Media    json.RawMessage `json:"media"`
	Status   string          `json:"status"`
	URL      string          `json:"url"`
	Protocol string          `json:"protocol"`
	Storage  *struct {
		Host string `json:"host"`
		File string `json:"file"`
	} `json:"storage"`
}

// TestE2ESessionsAllInOne runs recordings, streaming-outs and streaming-ins through the REST
// API against the all-in-one binary, with real ffmpeg and nginx-rtmp on loopback.
func TestE2ESessionsAllInOne(t *testing.T) {
	needMediaTools(t)
	s := setupSessionsRoom(t)
	t.Run("group", func(t *testing.T) {
		t.Run("RecordingMKV", func(t *testing.T) { t.Parallel(); checkRecordingMKV(t, s) })
		t.Run("RecordingMP4", func(t *testing.T) { t.Parallel(); checkRecordingMP4(t, s) })
		t.Run("StreamingOut", func(t *testing.T) { t.Parallel(); checkStreamingOut(t, s) })
		t.Run("StreamingIn", func(t *testing.T) { t.Parallel(); checkStreamingIn(t, s) })
		t.Run("BadInput", func(t *testing.T) { t.Parallel(); checkSessionBadInput(t, s) })
	})
}

// setupSessionsRoom starts the server and nginx, and publishes the three streams.
func setupSessionsRoom(t *testing.T) *sessionsRoom {
	t.Helper()
	srv := startRealtimeAllInOne(t)
	s := &sessionsRoom{api: srv.api, proc: srv.proc, room: srv.api.CreateRoom(t, "sessions"), events: participant.NewRecorder()}
	if os.Getenv("CONCLAVE_TEST_VERBOSE") != "" {
		t.Cleanup(func() {
			if !t.Failed() { // a failed test shows the output anyway
				t.Logf("--- output of conclave ---\n%s", srv.proc.Output())
			}
		})
	}
	s.rtmp = e2eutil.StartRTMP(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	opts := loopbackClient
	opts.Events = s.events.Events()
	s.x, _ = participant.JoinReady(ctx, t, func() string { return s.api.MustToken(t, s.room, "xavier", "presenter", "") }, opts)
	publish := func(user, mime string) string {
		c, _ := participant.JoinReady(ctx, t, func() string { return s.api.MustToken(t, s.room, user, "presenter", "") }, loopbackClient)
		pub, err := c.Publish(ctx, participant.ClipTracks(t, mime), rtc.PublishOptions{})
		if err != nil {
			t.Fatalf("%s publish: %v", user, err)
		}
		s.events.Wait(ctx, t, "stream add of "+user, participant.StreamEvent("add", pub.ID()))
		return pub.ID()
	}
	s.a = publish("alice", webrtc.MimeTypeVP8)
	s.b = publish("bob", webrtc.MimeTypeVP8)
	s.c = publish("carol", webrtc.MimeTypeH264)
	return s
}

// addSession POSTs a recording or streaming-out and decodes the 200 answer.
func (s *sessionsRoom) addSession(t *testing.T, kind string, body any) restSession {
	t.Helper()
	var out restSession
	e2eutil.Must(t, s.api.Do(t, "POST", s.path("v1", kind), body), http.StatusOK).Decode(t, &out)
	if out.ID == "" {
		t.Fatalf("POST %s answered no id: %+v", kind, out)
	}
	return out
}

// listSessions GETs the recordings or streaming-outs of the room.
func (s *sessionsRoom) listSessions(t *testing.T, kind string) []restSession {
	t.Helper()
	var out []restSession
	e2eutil.Must(t, s.api.Do(t, "GET", s.path("v1", kind), nil), http.StatusOK).Decode(t, &out)
	return out
}

// findSession returns the listed session id, or nil.
func findSession(list []restSession, id string) *restSession {
	if i := slices.IndexFunc(list, func(r restSession) bool { return r.ID == id }); i >= 0 {
		return &list[i]
	}
	return nil
}

// checkStorage checks a recording's storage and returns the file.
func checkStorage(t *testing.T, rec restSession, ext string) string {
	t.Helper()
	if rec.Storage == nil || rec.Storage.Host == "" || !strings.HasSuffix(rec.Storage.File, ext) {
		t.Fatalf("recording %+v: want storage {host, file *%s}", rec, ext)
	}
	return rec.Storage.File
}

// stopRecording DELETEs a recording and waits until its file is complete. The DELETE answer
// does not wait for the recording agent (the conference agent queues rec.stop), so the test
// waits for the agent's "recording stopped" log line naming the file.
func (s *sessionsRoom) stopRecording(t *testing.T, id, file string, sp *span) {
	t.Helper()
	sp.deleteSent = time.Now()
	e2eutil.Must(t, s.api.Do(t, "DELETE", s.path("v1", "recordings/"+id), nil), http.StatusOK)
	s.proc.WaitOutput(t, "recording "+id+" finalised", 15*time.Second, func(out string) bool {
		return hasLogLine(out, `msg="recording stopped"`, "recording="+id+" ", "file="+file)
	})
	sp.finalised = time.Now()
}

// hasLogLine reports whether one line of a process's output contains every part.
func hasLogLine(out string, parts ...string) bool {
	for line := range strings.Lines(out) {
		if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) }) {
			return true
		}
	}
	return false
}

// span brackets a recording's real length: media is first written between the POST request
// and its answer (rec.start answers once media is written), and the last between the DELETE
// request and the file being finalised.
type span struct {
	postSent, postAnswered time.Time
	deleteSent, finalised  time.Time
}

// check asserts that a file of duration got lasted what the span allows, within 10 %.
func (sp span) check(t *testing.T, got time.Duration) {
	t.Helper()
	lower, upper := sp.deleteSent.Sub(sp.postAnswered), sp.finalised.Sub(sp.postSent)
	if got < lower*9/10 || got > upper*11/10 {
		t.Errorf("file duration %s: the recording ran between %s and %s (±10 %%)", got, lower, upper)
	}
}

// checkRecordingMKV records a's VP8 + Opus, switches the video source and checks the file.
func checkRecordingMKV(t *testing.T, s *sessionsRoom) {
	var sp span
	sp.postSent = time.Now()
	rec := s.addSession(t, "recordings", map[string]any{"container": "auto", "media": avFrom(s.a, s.a)})
	sp.postAnswered = time.Now()
	file := checkStorage(t, rec, ".mkv")
	if got := findSession(s.listSessions(t, "recordings"), rec.ID); got == nil || got.Status != "active" {
		t.Fatalf("recording %s listed as %+v, want active", rec.ID, got)
	}
	time.Sleep(2 * time.Second)
	patch := func(from string) e2eutil.Response {
		return s.api.Do(t, "PATCH", s.path("v1", "recordings/"+rec.ID),
			[]map[string]any{{"op": "replace", "path": "/media/video/from", "value": from}})
	}
	// c is H.264 and the file VP8: the recorder does not transcode.
	if r := patch(s.c); r.Status < 400 || r.ErrorCode() == 0 {
		t.Fatalf("switch to an H.264 source answered %d %s, want an error", r.Status, r.Body)
	} else {
		t.Logf("switch to H.264 refused: %d %s", r.Status, r.Body)
	}
	e2eutil.Must(t, patch(s.b), http.StatusOK)
	time.Sleep(2 * time.Second)
	s.stopRecording(t, rec.ID, file, &sp)
	if got := findSession(s.listSessions(t, "recordings"), rec.ID); got != nil {
		t.Errorf("deleted recording still listed: %+v", got)
	}
	p := e2eutil.Probe(t, file)
	if p.Codecs()["video"] != "vp8" || p.Codecs()["audio"] != "opus" {
		t.Fatalf("%s has %v, want vp8 + opus", file, p.Codecs())
	}
	sp.check(t, p.Duration)
	t.Logf("mkv: %v, %s long", p.Codecs(), p.Duration)
}

// checkRecordingMP4 checks the mp4 rules: Opus audio is refused unless AAC is asked for (the
// recording agent converts it), and H.264 + AAC ends up in the file.
func checkRecordingMP4(t *testing.T, s *sessionsRoom) {
	e2eutil.MustError(t, s.api.Do(t, "POST", s.path("v1", "recordings"),
		map[string]any{"container": "mp4", "media": avFrom(s.c, s.c)}), http.StatusBadRequest, 1301)
	// Asking for AAC makes the recording agent convert the Opus source; auto then means mp4.
	aac := map[string]any{"from": s.c, "format": map[string]any{"codec": "aac", "sampleRate": 48000, "channelNum": 2}}
	e2eutil.MustError(t, s.api.Do(t, "POST", s.path("v1", "recordings"),
		map[string]any{"container": "mkv", "media": avFrom(aac, s.c)}), http.StatusBadRequest, 1301)

	p := s.recordFor(t, avFrom(aac, s.c), ".mp4", 3*time.Second, "h264", "aac")
	t.Logf("mp4: %v, %s long", p.Codecs(), p.Duration)
}

// recordFor records media (container auto) for about d, stops the recording and probes the
// file: it must have the video and audio codecs and last what the recording's span allows.
func (s *sessionsRoom) recordFor(t *testing.T, media map[string]any, ext string, d time.Duration, video, audio string) e2eutil.MediaInfo {
	t.Helper()
	var sp span
	sp.postSent = time.Now()
	rec := s.addSession(t, "recordings", map[string]any{"container": "auto", "media": media})
	sp.postAnswered = time.Now()
	file := checkStorage(t, rec, ext)
	time.Sleep(d)
	s.stopRecording(t, rec.ID, file, &sp)
	p := e2eutil.Probe(t, file)
	if p.Codecs()["video"] != video || p.Codecs()["audio"] != audio {
		t.Fatalf("%s has %v, want %s + %s", file, p.Codecs(), video, audio)
	}
	sp.check(t, p.Duration)
	return p
}

// checkStreamingOut pushes a's VP8 + Opus to nginx-rtmp (transcoded to H.264 + AAC), then
// tries an RTMP server that is not there.
func checkStreamingOut(t *testing.T, s *sessionsRoom) {
	out := s.addSession(t, "streaming-outs", map[string]any{"protocol": "rtmp", "url": s.rtmp.URL("out"),
		"media": avFrom(s.a, s.a)})
	if out.Protocol != "rtmp" || out.URL != s.rtmp.URL("out") {
		t.Errorf("streaming-out answer %+v", out)
	}
	time.Sleep(5 * time.Second)
	if got := findSession(s.listSessions(t, "streaming-outs"), out.ID); got == nil || got.Status != "active" {
		t.Fatalf("streaming-out %s listed as %+v, want active", out.ID, got)
	}
	e2eutil.Must(t, s.api.Do(t, "DELETE", s.path("v1", "streaming-outs/"+out.ID), nil), http.StatusOK)
	// ffmpeg gets SIGINT while media still flows, so it finishes its output at once instead
	// of being killed after the agent's 5 s StopTimeout.
	s.proc.WaitOutput(t, "streaming-out "+out.ID+" stopped", 4*time.Second, func(log string) bool {
		return hasLogLine(log, `msg="streaming-out stopped"`, "streaming="+out.ID+"\n")
	})
	if got := findSession(s.listSessions(t, "streaming-outs"), out.ID); got != nil {
		t.Errorf("deleted streaming-out still listed: %+v", got)
	}
	p := probeRecorded(t, s.rtmp.Recorded("out"))
	if p.Codecs()["video"] != "h264" || p.Codecs()["audio"] != "aac" || p.Duration < 3*time.Second {
		t.Fatalf("streamed flv: %v, %s; want h264 + aac, ≥ 3 s", p.Codecs(), p.Duration)
	}
	t.Logf("flv: %v, %s long", p.Codecs(), p.Duration)

	closed := fmt.Sprintf("rtmp://127.0.0.1:%d/live/nobody", e2eutil.FreePort(t))
	begin := time.Now()
	r := s.api.Do(t, "POST", s.path("v1", "streaming-outs"), map[string]any{"protocol": "rtmp", "url": closed,
		"media": avFrom(s.a, s.a)})
	e2eutil.MustError(t, r, http.StatusInternalServerError, 1201)
	t.Logf("unreachable RTMP refused after %s: %s", time.Since(begin).Round(time.Millisecond), r.Body)
	for _, o := range s.listSessions(t, "streaming-outs") {
		if o.URL == closed {
			t.Errorf("failed streaming-out listed: %+v", o)
		}
	}
}

// probeRecorded waits until nginx has closed the recorded flv (it finishes the file when the
// publisher disconnects) and probes it.
func probeRecorded(t *testing.T, path string) e2eutil.MediaInfo {
	t.Helper()
	var last os.FileInfo
	deadline := time.Now().Add(10 * time.Second)
	for {
		fi, err := os.Stat(path)
		if err == nil && last != nil && fi.Size() == last.Size() && fi.Size() > 0 {
			return e2eutil.Probe(t, path)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not written: %v", path, err)
		}
		last = fi
		time.Sleep(300 * time.Millisecond)
	}
}

// checkStreamingIn pulls an ffmpeg test source from nginx-rtmp into the room, subscribes to
// it, records it and removes it.
func checkStreamingIn(t *testing.T, s *sessionsRoom) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	publishTestSource(t, s.rtmp.URL("in"))
	var in restStreamJSON
	e2eutil.Must(t, s.api.Do(t, "POST", s.path("v1.1", "streaming-ins"), map[string]any{
		"connection": map[string]any{"url": s.rtmp.URL("in")},
		"media":      map[string]any{"audio": "auto", "video": "auto"},
	}), http.StatusOK).Decode(t, &in)
	if in.ID == "" || in.Info.Owner != "admin" || in.Info.Type != "streaming" {
		t.Fatalf("streaming-in answered %+v", in)
	}
	ev := s.events.Wait(ctx, t, "stream add of the streaming-in", participant.StreamEvent("add", in.ID)).(protocol.StreamEvent)
	info := ev.Data.(protocol.StreamInfo)
	var owner struct {
		Owner string `json:"owner"`
		Type  string `json:"type"`
	}
	if err := json.Unmarshal(info.Info, &owner); err != nil || owner.Owner != "admin" || owner.Type != "streaming" {
		t.Fatalf("stream add info %s: want owner admin, type streaming", info.Info)
	}
	_, counted := subscribeCounted(ctx, t, s.x, info)
	counted.wait(ctx, t, webrtc.MimeTypeH264, 30)
	counted.wait(ctx, t, webrtc.MimeTypeOpus, 30)

	rec := s.addSession(t, "recordings", map[string]any{"container": "auto", "media": avFrom(in.ID, in.ID)})
	file := checkStorage(t, rec, ".mkv")
	time.Sleep(2 * time.Second)
	s.stopRecording(t, rec.ID, file, &span{})
	if p := e2eutil.Probe(t, file); p.Codecs()["video"] != "h264" || p.Codecs()["audio"] != "opus" {
		t.Fatalf("recording of the streaming-in has %v, want h264 + opus", p.Codecs())
	}

	e2eutil.Must(t, s.api.Do(t, "DELETE", s.path("v1.1", "streaming-ins/"+in.ID), nil), http.StatusOK)
	s.events.Wait(ctx, t, "stream remove of the streaming-in", participant.StreamEvent("remove", in.ID))
}

// checkSessionBadInput checks the REST errors of bad session requests.
func checkSessionBadInput(t *testing.T, s *sessionsRoom) {
	cases := []struct {
		name         string
		kind         string
		body         any
		status, code int
	}{
		{"unknown stream", "recordings", map[string]any{"media": avFrom("nosuchstream", "nosuchstream")}, http.StatusNotFound, 1004},
		{"unknown video stream", "streaming-outs", map[string]any{"url": s.rtmp.URL("x"), "media": avFrom(s.a, "nosuchstream")}, http.StatusNotFound, 1004},
		{"container ts", "recordings", map[string]any{"container": "ts", "media": avFrom(s.a, s.a)}, http.StatusBadRequest, 1301},
		{"protocol ftp", "streaming-outs", map[string]any{"protocol": "ftp", "url": "ftp://127.0.0.1/x", "media": avFrom(s.a, s.a)}, http.StatusBadRequest, 1301},
		{"rtmp to http url", "streaming-outs", map[string]any{"protocol": "rtmp", "url": "http://127.0.0.1/x", "media": avFrom(s.a, s.a)}, http.StatusBadRequest, 1301},
		{"not a url", "streaming-outs", map[string]any{"protocol": "rtmp", "url": "::not a url", "media": avFrom(s.a, s.a)}, http.StatusBadRequest, 1301},
		{"no media", "recordings", map[string]any{"media": avFrom(false, false)}, http.StatusBadRequest, 1301},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e2eutil.MustError(t, s.api.Do(t, "POST", s.path("v1", tc.kind), tc.body), tc.status, tc.code)
		})
	}
}
