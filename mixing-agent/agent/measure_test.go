package agent

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
)

// cpuTime returns this process's user+system CPU time.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuOver returns the process CPU used over d, as a fraction of one core.
func cpuOver(t *testing.T, d time.Duration) float64 {
	c0, w0 := cpuTime(t), time.Now()
	time.Sleep(d)
	return float64(cpuTime(t)-c0) / float64(time.Since(w0))
}

// TestMixMeasureCPU reports the CPU of one mixed view (4 moving 640x480@24 VP8 inputs with
// tones into a 640x480@24 VP8 view) and of one transcode (640x480 VP8 → 320x240 H.264 and
// VP8 at 24 fps), net of the synthetic sources measured alone first.
func TestMixMeasureCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	const window, baseline = 5 * time.Second, 2 * time.Second
	h := newHarness(t, Config{})
	var inputs []protocol.MixInput
	for i, f := range []float64{440, 550, 660, 880} {
		inputs = append(inputs, h.addInput(t, fmt.Sprintf("s%d", i), room.Color{}, f, 640, 480, 24))
	}
	time.Sleep(500 * time.Millisecond)
	src := cpuOver(t, baseline)
	t.Logf("synthetic sources alone (4 × VP8 640x480@24 encode + 4 Opus tones): %.1f%% of a core", 100*src)

	h.startMix(t, mixView(vw, vh), inputs)
	video, audio := h.consume(t, mixID+"-video"), h.consume(t, mixID+"-audio")
	video.waitPicture(t, "mixed picture", 10*time.Second, func(*yuv.Image) bool { return true })
	time.Sleep(500 * time.Millisecond)
	_, f0 := video.picture()
	e0 := h.mixFrames()
	total := cpuOver(t, window)
	_, f1 := video.picture()
	e1 := h.mixFrames()
	t.Logf("mixed view 640x480@24 VP8 + Opus, 4 inputs: %.1f%% of a core net of the sources (process %.1f%%); %.1f fps encoded, %.1f fps decoded by the consumer",
		100*(total-src), 100*total, float64(e1-e0)/window.Seconds(), float64(f1-f0)/window.Seconds())
	video.close()
	audio.close()
	if err := h.call(protocol.MethodMixStop, protocol.SessionStop{ID: mixID}, nil); err != nil {
		t.Fatal(err)
	}

	for _, codecName := range []string{"vp8", "h264"} {
		id := "x-" + codecName
		var res protocol.XcodeStarted
		err := h.call(protocol.MethodXcodeStart, protocol.XcodeStart{ID: id, RoomID: "room1", Controller: controller,
			Source: *srcTrackRef("s0-video", "vp8"), Format: protocol.Format{Codec: codecName},
			Parameters: &protocol.VideoParameters{Resolution: &protocol.Resolution{Width: 320, Height: 240}, Framerate: 24}}, &res)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond) // the previous pipeline's links wound down
		src := cpuOver(t, baseline)
		c := h.consume(t, res.Track.ID)
		c.waitPicture(t, "transcoded picture", 10*time.Second, func(*yuv.Image) bool { return true })
		time.Sleep(500 * time.Millisecond)
		total := cpuOver(t, window)
		t.Logf("transcode VP8 640x480 → %s 320x240@24: %.1f%% of a core net of the sources (%.1f%% alone, %.1f%% with it)",
			codecName, 100*(total-src), 100*src, 100*total)
		c.close()
		if err := h.call(protocol.MethodXcodeStop, protocol.SessionStop{ID: id}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// mixFrames returns the frames mixID's compositor encoded so far (0 when not running).
func (h *harness) mixFrames() uint64 {
	s, _ := h.agent.lookup(mixID).(*mixSession)
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.run == nil || s.run.comp == nil {
		return 0
	}
	f, _ := s.run.comp.Frames()
	return f
}
