package agent

import (
	"errors"
	"math"
	"os"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// window is how long a recording ran as the test saw it: at least inner (from rec.start's
// answer to the rec.stop request) and at most outer (from the rec.start request to rec.stop's
// answer). A busy machine can delay either answer (the MP4 recorder starts ffmpeg for AAC
// before answering), and the file then holds media from before the answer.
type window struct{ inner, outer time.Duration }

// checkDuration fails unless a file of d seconds fits the window, within 10 %.
func (w window) checkDuration(t *testing.T, d float64, what string) {
	t.Helper()
	if d < 0.9*w.inner.Seconds() || d > 1.1*w.outer.Seconds() {
		t.Fatalf("duration %.3f s %s, recorded for %.3f–%.3f s", d, what, w.inner.Seconds(), w.outer.Seconds())
	}
}

// recordFor starts a recording, lets it run for d and stops it; it returns the file and the
// recording's window.
func recordFor(t *testing.T, h *harness, req protocol.RecStart, d time.Duration, during func()) (string, window) {
	t.Helper()
	var started protocol.SessionStarted
	asked := time.Now()
	if err := h.call(protocol.MethodRecStart, req, &started); err != nil {
		t.Fatalf("rec.start: %v", err)
	}
	begin := time.Now()
	if started.Host != "test-host" || started.File == "" {
		t.Fatalf("rec.start answer %+v", started)
	}
	if during != nil {
		during()
	}
	time.Sleep(d - time.Since(begin))
	inner := time.Since(begin)
	if err := h.call(protocol.MethodRecStop, protocol.SessionStop{ID: req.ID}, nil); err != nil {
		t.Fatalf("rec.stop: %v", err)
	}
	return started.File, window{inner: inner, outer: time.Since(asked)}
}

func TestRecordingContainers(t *testing.T) {
	tests := []struct {
		name      string
		container string
		video     string // mime
		audio     string
		want      string
		delay     time.Duration // video packets late vs. capture (Sender Reports tell)
	}{
		{"mkv vp8 opus", "mkv", "video/VP8", "audio/opus", "video:vp8,audio:opus", 0},
		{"mkv vp8 opus delayed video", "mkv", "video/VP8", "audio/opus", "video:vp8,audio:opus", 250 * time.Millisecond},
		{"mkv h264 opus", "mkv", "video/H264", "audio/opus", "video:h264,audio:opus", 0},
		{"mp4 h264 aac", "mp4", "video/H264", "audio/opus", "video:h264,audio:aac", 0},
		{"mkv audio only", "mkv", "", "audio/opus", "audio:opus", 0},
		{"mkv video only", "mkv", "video/VP8", "", "video:vp8", 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, Config{})
			h.publish(t, "pub", tc.video, tc.audio, tc.delay)
			time.Sleep(200 * time.Millisecond) // join mid-stream, like a real recording
			req := protocol.RecStart{ID: "rec" + string(rune('a'+i)), RoomID: "room", Controller: controller, Container: tc.container}
			if tc.video != "" {
				req.Video = track("pub-video", tc.video[6:])
			}
			if tc.audio != "" {
				req.Audio = track("pub-audio", "opus")
			}
			file, wall := recordFor(t, h, req, 3*time.Second, nil)
			p := ffprobe(t, file)
			if p.codecs() != tc.want {
				t.Fatalf("streams %s, want %s", p.codecs(), tc.want)
			}
			wall.checkDuration(t, p.duration(), "")
			if err := decodes(t, file); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if tc.video != "" && tc.audio != "" {
				checkOffset(t, h, p, tc.container == "mp4")
			}
			h.waitEvent(t, req.ID, protocol.SessionEventStopped)
		})
	}
}

// checkOffset compares the file's A/V start offset with what the publisher captured: the
// first video keyframe and the first audio frame sent on the links. MP4 starts the audio
// with the video (see recorder.MP4), and AAC adds its priming delay.
func checkOffset(t *testing.T, h *harness, p probe, mp4 bool) {
	t.Helper()
	_, key := h.pub.FirstSent("pub-video")
	audio, _ := h.pub.FirstSent("pub-audio")
	want := key.Sub(audio).Seconds()
	if mp4 {
		want = 1024.0 / 48000
	}
	vs, ok1 := p.start("video")
	as, ok2 := p.start("audio")
	if !ok1 || !ok2 {
		t.Fatalf("no start times in %+v", p)
	}
	if got := vs - as; math.Abs(got-want) > 0.1 {
		t.Fatalf("video starts %.3f s after audio, want %.3f s", got, want)
	}
	t.Logf("A/V offset %.3f s (want %.3f s): video %.3f audio %.3f", vs-as, want, vs, as)
}

func TestRecordingBadRequests(t *testing.T) {
	h := newHarness(t, Config{})
	h.publish(t, "pub", "video/VP8", "audio/opus", 0)
	tests := []struct {
		name string
		req  protocol.RecStart
		code int
	}{
		{"unknown container", protocol.RecStart{ID: "r1", Container: "avi", Audio: track("pub-audio", "opus")}, errs.CodeBadRequest},
		{"no sources", protocol.RecStart{ID: "r2", Container: "mkv"}, errs.CodeBadRequest},
		{"bad id", protocol.RecStart{ID: "../x", Container: "mkv", Audio: track("pub-audio", "opus")}, errs.CodeBadRequest},
		{"missing source agent", protocol.RecStart{ID: "r3", Container: "mkv", Audio: &protocol.SessionTrack{Format: protocol.Format{Codec: "opus"}}}, errs.CodeBadRequest},
		{"vp8 in mp4", protocol.RecStart{ID: "r4", Container: "mp4", Video: track("pub-video", "vp8")}, errs.CodeBadRequest},
		{"audio codec as video", protocol.RecStart{ID: "r5", Container: "mkv", Video: track("pub-audio", "opus")}, errs.CodeBadRequest},
		{"unknown track", protocol.RecStart{ID: "r6", Container: "mkv", Audio: track("nope", "opus")}, errs.CodeCluster},
		{"codec mismatch", protocol.RecStart{ID: "r7", Container: "mkv", Video: track("pub-video", "h264")}, errs.CodeBadRequest},
		{"unreachable agent", protocol.RecStart{ID: "r8", Container: "mkv", Audio: &protocol.SessionTrack{
			Source: protocol.TrackRef{Agent: "webrtc-gone@nowhere", TrackID: "x"}, Format: protocol.Format{Codec: "opus"}}}, errs.CodeCluster},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := h.call(protocol.MethodRecStart, tc.req, nil)
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != tc.code {
				t.Fatalf("rec.start = %v, want code %d", err, tc.code)
			}
			t.Logf("%s: %v", tc.name, err)
		})
	}
	entries, _ := os.ReadDir(h.agent.cfg.Dir)
	if len(entries) != 0 {
		t.Fatalf("failed starts left files: %v", entries)
	}
	if err := h.call(protocol.MethodRecStop, protocol.SessionStop{ID: "r1"}, nil); errs.As(err).Code != errs.CodeNotFound {
		t.Fatalf("rec.stop of unknown = %v", err)
	}
	if err := h.call(protocol.MethodRecUpdate, protocol.SessionUpdate{ID: "r1", Audio: track("pub-audio", "opus")}, nil); errs.As(err).Code != errs.CodeNotFound {
		t.Fatalf("rec.update of unknown = %v", err)
	}
}
