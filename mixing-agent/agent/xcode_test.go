package agent

import (
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
)

func TestXcodeVideoScales(t *testing.T) {
	h := newHarness(t, Config{})
	h.addInput(t, "s-blue", blue, 880, 640, 480, 15)
	base := settleGoroutines(0, 300*time.Millisecond)
	var res protocol.XcodeStarted
	err := h.call(protocol.MethodXcodeStart, protocol.XcodeStart{ID: "x1", RoomID: "room1", Controller: controller,
		Source: *srcTrackRef("s-blue-video", "vp8"), Format: protocol.Format{Codec: "h264", Profile: "CB"},
		Parameters: &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: 320, Height: 240}, Framerate: 15}}, &res)
	if err != nil {
		t.Fatalf("xcode.start: %v", err)
	}
	tr := res.Track
	if tr.ID != "x1-video" || tr.Format.Codec != "h264" || tr.Parameters == nil || tr.Parameters.Resolution == nil ||
		*tr.Parameters.Resolution != (protocol.Resolution{Width: 320, Height: 240}) || tr.Parameters.Framerate != 15 {
		t.Fatalf("xcode track %+v", tr)
	}
	if n := h.src.exports.Load(); n != 0 {
		t.Fatalf("idle transcode imported %d tracks", n)
	}
	c := h.consume(t, tr.ID)
	if c.info.MimeType != "video/H264" {
		t.Fatalf("track info %+v", c.info)
	}
	img := c.waitPicture(t, "320x240 blue picture", 10*time.Second, func(img *yuv.Image) bool {
		return img.Width == 320 && img.Height == 240 && colorNear(img, yuv.Rect{X: 16, Y: 16, W: 288, H: 208}, blue, 14)
	})
	_, frames := c.picture()
	t.Logf("transcoded %dx%d, %d frames decoded", img.Width, img.Height, frames)

	// Without parameters the output keeps the source's size.
	var same protocol.XcodeStarted
	err = h.call(protocol.MethodXcodeStart, protocol.XcodeStart{ID: "x2", RoomID: "room1", Controller: controller,
		Source: *srcTrackRef("s-blue-video", "vp8"), Format: protocol.Format{Codec: "vp8"}}, &same)
	if err != nil {
		t.Fatalf("xcode.start: %v", err)
	}
	if same.Track.Parameters.Resolution != nil || same.Track.Parameters.Framerate != xcodeFramerate {
		t.Fatalf("as-the-source track %+v", same.Track.Parameters)
	}
	c2 := h.consume(t, same.Track.ID)
	c2.waitPicture(t, "640x480 picture", 10*time.Second, func(img *yuv.Image) bool { return img.Width == 640 && img.Height == 480 })
	c2.close()
	if err := h.call(protocol.MethodXcodeStop, protocol.SessionStop{ID: "x2"}, nil); err != nil {
		t.Fatal(err)
	}

	// The source going away fails the transcode with an event.
	n := h.eventCount()
	h.src.kill("s-blue-video")
	ev, _ := h.waitEvent(t, "x1", protocol.MixEventFailed, n, 5*time.Second, nil)
	if ev.Reason == "" {
		t.Error("failed event without reason")
	}
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatal("consumer link open after the transcode failed")
	}
	if err := h.call(protocol.MethodXcodeStop, protocol.SessionStop{ID: "x1"}, nil); err == nil {
		t.Error("xcode.stop of a failed transcode succeeded")
	}
	if g := settleGoroutines(base, 5*time.Second); g > base {
		t.Fatalf("goroutines after the transcode ended: %d, before %d", g, base)
	}
}

func TestXcodeAudio(t *testing.T) {
	h := newHarness(t, Config{})
	h.addInput(t, "s-red", red, 440, 160, 120, 15)
	var res protocol.XcodeStarted
	err := h.call(protocol.MethodXcodeStart, protocol.XcodeStart{ID: "xa", RoomID: "room1", Controller: controller,
		Source: *srcTrackRef("s-red-audio", "opus"), Format: protocol.Format{Codec: "opus", SampleRate: 48000, ChannelNum: 1}}, &res)
	if err != nil {
		t.Fatalf("xcode.start: %v", err)
	}
	if res.Track.Type != "audio" || res.Track.Format.ChannelNum != 1 {
		t.Fatalf("xcode track %+v", res.Track)
	}
	c := h.consume(t, res.Track.ID)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if pcm := c.audio(); len(pcm) >= 24000 {
			pcm = pcm[len(pcm)-24000:]
			p, off := goertzel(pcm, 440), goertzel(pcm, 700)
			if p > 20*off {
				t.Logf("transcoded tone power %.3g vs off-tone %.3g", p, off)
				if err := h.call(protocol.MethodXcodeStop, protocol.SessionStop{ID: "xa"}, nil); err != nil {
					t.Fatal(err)
				}
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("transcoded audio lacks the source tone")
}
