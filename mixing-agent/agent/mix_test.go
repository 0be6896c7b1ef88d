package agent

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/mixing-agent/yuv"
)

const (
	mixID = "room1-common"
	vw    = 640
	vh    = 480
)

// startMix starts mixID over inputs and checks the answer.
func (h *harness) startMix(t *testing.T, view room.View, inputs []protocol.MixInput) protocol.MixState {
	t.Helper()
	var st protocol.MixState
	err := h.call(protocol.MethodMixStart, protocol.MixStart{ID: mixID, RoomID: "room1", Controller: controller,
		View: view, Inputs: inputs}, &st)
	if err != nil {
		t.Fatalf("mix.start: %v", err)
	}
	return st
}

func TestMixIdleSessionCostsNothing(t *testing.T) {
	h := newHarness(t, Config{})
	inputs := []protocol.MixInput{
		h.addInput(t, "s-red", red, 440, 160, 120, 15),
		h.addInput(t, "s-green", green, 660, 160, 120, 15),
	}
	base := settleGoroutines(0, 300*time.Millisecond)
	st := h.startMix(t, mixView(vw, vh), inputs)
	if len(st.Tracks) != 2 || st.ActiveInput != "unknown" || len(st.Layout) == 0 {
		t.Fatalf("mix.start answer %+v", st)
	}
	// Inputs change while idle: the layout follows, nothing is imported.
	var st2 protocol.MixState
	if err := h.call(protocol.MethodMixInputs, protocol.MixInputs{ID: mixID, Inputs: inputs[:1]}, &st2); err != nil {
		t.Fatal(err)
	}
	h.waitEvent(t, mixID, protocol.MixEventLayout, 0, 2*time.Second, nil)
	if err := h.call(protocol.MethodMixInputs, protocol.MixInputs{ID: mixID, Inputs: inputs}, &st2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let a (wrong) pipeline dial if it were running
	if n := h.src.exports.Load(); n != 0 {
		t.Fatalf("idle mix imported %d tracks", n)
	}
	if g := settleGoroutines(base, 2*time.Second); g > base {
		t.Fatalf("idle mix session runs goroutines: %d before, %d after", base, g)
	}
	t.Logf("idle mix session: 0 links, goroutines %d before and after", base)
	if got, want := h.agent.load(), WeightMix*IdleFactor/DefaultCapacity; got != want {
		t.Errorf("idle load %v, want %v", got, want)
	}

	// A consumer starts the pipeline; its first frame is a keyframe.
	c := h.consume(t, st.Tracks[1].ID)
	c.waitPicture(t, "first mixed picture", 10*time.Second, func(*yuv.Image) bool { return true })
	if n := h.src.exports.Load(); n != 4 {
		t.Errorf("active mix imported %d tracks, want 4", n)
	}
	if got, want := h.agent.load(), WeightMix/DefaultCapacity; got != want {
		t.Errorf("active load %v, want %v", got, want)
	}
	c.mu.Lock()
	keys := c.keys
	c.mu.Unlock()
	if keys == 0 {
		t.Error("no keyframe decoded")
	}
	// The last consumer leaving stops everything again.
	c.close()
	deadline := time.Now().Add(5 * time.Second)
	for h.src.linkCount("s-red-video")+h.src.linkCount("s-green-audio") > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := h.src.linkCount("s-red-video") + h.src.linkCount("s-green-audio"); n != 0 {
		t.Fatalf("%d input links still open after the last consumer left", n)
	}
	if g := settleGoroutines(base, 5*time.Second); g > base {
		t.Fatalf("goroutines after the last consumer left: %d, before %d", g, base)
	}
	if err := h.call(protocol.MethodMixStop, protocol.SessionStop{ID: mixID}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestMixComposesAndMixes(t *testing.T) {
	h := newHarness(t, Config{})
	inputs := []protocol.MixInput{
		h.addInput(t, "s-red", red, 440, 160, 120, 15),
		h.addInput(t, "s-green", green, 660, 160, 120, 15),
		h.addInput(t, "s-blue", blue, 880, 160, 120, 15),
	}
	base := settleGoroutines(0, 300*time.Millisecond)
	st := h.startMix(t, mixView(vw, vh), inputs)
	video := h.consume(t, mixID+"-video")
	audio := h.consume(t, mixID+"-audio")
	if video.info.MimeType != "video/VP8" || audio.info.MimeType != "audio/opus" {
		t.Fatalf("track infos %+v %+v", video.info, audio.info)
	}

	// Each input's colour is in its region; the rest is the background.
	colours := map[string]room.Color{"s-red": red, "s-green": green, "s-blue": blue}
	inRegions := func(layout []protocol.LayoutRegion) func(*yuv.Image) bool {
		return func(img *yuv.Image) bool {
			for _, r := range layout {
				want, ok := colours[r.Stream]
				if !ok {
					want = white
				}
				if !colorNear(img, regionRect(t, r.Region, img.Width, img.Height, 12), want, 14) {
					return false
				}
			}
			return true
		}
	}
	start := time.Now()
	video.waitPicture(t, "three inputs in their regions", 15*time.Second, inRegions(st.Layout))
	t.Logf("first complete mixed picture after %v", time.Since(start))

	// The mixed audio holds each tone.
	deadline := time.Now().Add(10 * time.Second)
	var powers map[float64]float64
	for time.Now().Before(deadline) {
		pcm := audio.audio()
		if len(pcm) >= 24000 {
			pcm = pcm[len(pcm)-24000:]
			powers = map[float64]float64{}
			for _, f := range []float64{440, 660, 880, 550, 1200} {
				powers[f] = goertzel(pcm, f)
			}
			noise := max(powers[550], powers[1200])
			if powers[440] > 20*noise && powers[660] > 20*noise && powers[880] > 20*noise {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	noise := max(powers[550], powers[1200])
	if !(powers[440] > 20*noise && powers[660] > 20*noise && powers[880] > 20*noise) {
		t.Fatalf("tones not all in the mix: powers %v", powers)
	}
	t.Logf("tone powers 440/660/880 Hz vs off-tone: %.3g %.3g %.3g / %.3g", powers[440], powers[660], powers[880], noise)

	// Removing an input: layout event within 2 s, its region shows the background.
	n := h.eventCount()
	var st2 protocol.MixState
	if err := h.call(protocol.MethodMixInputs, protocol.MixInputs{ID: mixID, Inputs: []protocol.MixInput{inputs[0], inputs[2]}}, &st2); err != nil {
		t.Fatal(err)
	}
	ev, n := h.waitEvent(t, mixID, protocol.MixEventLayout, n, 2*time.Second, nil)
	freed := regionOf(t, st.Layout, "s-green")
	for _, r := range ev.Layout {
		if r.Stream == "s-green" {
			t.Fatalf("removed input still in layout %+v", ev.Layout)
		}
	}
	video.waitPicture(t, "freed region shows the background", 5*time.Second, func(img *yuv.Image) bool {
		return colorNear(img, regionRect(t, freed, img.Width, img.Height, 12), white, 14)
	})

	// mix.region moves blue into red's region (red takes blue's).
	redRegion, blueRegion := regionOf(t, ev.Layout, "s-red"), regionOf(t, ev.Layout, "s-blue")
	var st3 protocol.MixState
	if err := h.call(protocol.MethodMixRegion, protocol.MixRegion{ID: mixID, Stream: "s-blue", Region: redRegion.ID}, &st3); err != nil {
		t.Fatal(err)
	}
	if regionOf(t, st3.Layout, "s-blue").ID != redRegion.ID || regionOf(t, st3.Layout, "s-red").ID != blueRegion.ID {
		t.Fatalf("mix.region answered layout %+v", st3.Layout)
	}
	_, n = h.waitEvent(t, mixID, protocol.MixEventLayout, n, 2*time.Second, nil)
	video.waitPicture(t, "blue in red's region", 5*time.Second, func(img *yuv.Image) bool {
		return colorNear(img, regionRect(t, redRegion, img.Width, img.Height, 12), blue, 14) &&
			colorNear(img, regionRect(t, blueRegion, img.Width, img.Height, 12), red, 14)
	})

	// mix.layout: an explicit layout with red alone in the full picture.
	full := room.Region{ID: "1", Shape: "rectangle", Area: room.Area{Left: "0", Top: "0", Width: "1", Height: "1"}}
	var st4 protocol.MixState
	err := h.call(protocol.MethodMixLayout, protocol.MixLayout{ID: mixID, Layout: []protocol.LayoutRegion{{Stream: "s-red", Region: full}}}, &st4)
	if err != nil {
		t.Fatalf("mix.layout: %v", err)
	}
	_, n = h.waitEvent(t, mixID, protocol.MixEventLayout, n, 2*time.Second, nil)
	video.waitPicture(t, "red full picture", 5*time.Second, func(img *yuv.Image) bool {
		return colorNear(img, yuv.Rect{X: 40, Y: 40, W: img.Width - 80, H: img.Height - 80}, red, 14)
	})

	// A dead input link: the stream leaves the layout with an event.
	h.src.kill("s-red-video")
	h.waitEvent(t, mixID, protocol.MixEventLayout, n, 3*time.Second, func(e protocol.MixEvent) bool {
		for _, r := range e.Layout {
			if r.Stream == "s-red" {
				return false
			}
		}
		return true
	})

	// Supplied again by mix.inputs, the stream is imported anew and shown again.
	var st5 protocol.MixState
	if err := h.call(protocol.MethodMixInputs, protocol.MixInputs{ID: mixID, Inputs: inputs}, &st5); err != nil {
		t.Fatal(err)
	}
	back := regionOf(t, st5.Layout, "s-red")
	video.waitPicture(t, "re-supplied input shown", 10*time.Second, func(img *yuv.Image) bool {
		return colorNear(img, regionRect(t, back, img.Width, img.Height, 12), red, 14)
	})

	// The voice activity detection named a speaker.
	ev, _ = h.waitEvent(t, mixID, protocol.MixEventActiveInput, 0, 5*time.Second, nil)
	if _, ok := colours[ev.ActiveInput]; !ok {
		t.Errorf("activeInput %q is not an input", ev.ActiveInput)
	}

	// RTP: one SSRC per track, continuous sequence numbers, audio timestamps by 960 samples,
	// video timestamps from the wall clock at 90 kHz.
	pkts, gaps, backs, ssrcs, _, rate := video.clock()
	t.Logf("mixed video: %d packets, %d sequence gaps, %d backward timestamps, clock %.0f Hz", pkts, gaps, backs, rate)
	if ssrcs != 1 || backs != 0 {
		t.Errorf("video: %d SSRCs, %d backward timestamps", ssrcs, backs)
	}
	apkts, agaps, abacks, assrcs, steps, arate := audio.clock()
	t.Logf("mixed audio: %d packets, %d sequence gaps, timestamp steps %v, clock %.0f Hz", apkts, agaps, steps, arate)
	if assrcs != 1 || abacks != 0 || len(steps) != 1 || steps[960] == 0 {
		t.Errorf("audio: %d SSRCs, %d backward timestamps, steps %v (want only 960)", assrcs, abacks, steps)
	}

	// mix.stop ends everything: the consumers' links close, no goroutine is left.
	if err := h.call(protocol.MethodMixStop, protocol.SessionStop{ID: mixID}, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*consumer{video, audio} {
		select {
		case <-c.done:
		case <-time.After(5 * time.Second):
			t.Fatal("consumer link still open after mix.stop")
		}
	}
	if g := settleGoroutines(base, 5*time.Second); g > base {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutines after mix.stop: %d, before %d\n%s", g, base, buf[:runtime.Stack(buf, true)])
	}
}

func TestMixErrors(t *testing.T) {
	h := newHarness(t, Config{Capacity: 1})
	in := h.addInput(t, "s-red", red, 440, 160, 120, 15)
	badView := mixView(vw, vh)
	badView.Video.MaxInput = 0
	vp9 := mixView(vw, vh)
	vp9.Video.Format.Codec = "vp9"
	aac := mixView(vw, vh)
	aac.Audio.Format = room.AudioFormat{Codec: "aac", SampleRate: 48000, ChannelNum: 2}
	badInput := in
	badInput.Video = srcTrackRef("x", "vp9")
	cases := []struct {
		name   string
		method string
		req    any
		status int
		text   string
	}{
		{"bad view", protocol.MethodMixStart, protocol.MixStart{ID: "m1", Controller: controller, View: badView}, 400, "maxInput"},
		{"unsupported video", protocol.MethodMixStart, protocol.MixStart{ID: "m1", Controller: controller, View: vp9}, 400, "unsupported video codec"},
		{"unsupported audio", protocol.MethodMixStart, protocol.MixStart{ID: "m1", Controller: controller, View: aac}, 400, "unsupported audio codec"},
		{"bad input", protocol.MethodMixStart, protocol.MixStart{ID: "m1", Controller: controller, View: mixView(vw, vh),
			Inputs: []protocol.MixInput{badInput}}, 400, "vp9"},
		{"no id", protocol.MethodMixStart, protocol.MixStart{Controller: controller, View: mixView(vw, vh)}, 400, "id"},
		{"unknown mix", protocol.MethodMixInputs, protocol.MixInputs{ID: "nope"}, 404, "Mix nope does NOT exist"},
		{"unknown stop", protocol.MethodMixStop, protocol.SessionStop{ID: "nope"}, 404, "does NOT exist"},
		{"unknown xcode", protocol.MethodXcodeStop, protocol.SessionStop{ID: "nope"}, 404, "Transcode nope"},
		{"unknown track", protocol.MethodRTCExport, protocol.RTCExport{TrackID: "nope"}, 404, "Track nope"},
		{"xcode format", protocol.MethodXcodeStart, protocol.XcodeStart{ID: "x1", Controller: controller,
			Source: *srcTrackRef("s-red-video", "vp8"), Format: protocol.Format{Codec: "mpeg2"}}, 400, "unsupported transcode format"},
		{"xcode audio", protocol.MethodXcodeStart, protocol.XcodeStart{ID: "x1", Controller: controller,
			Source: *srcTrackRef("s-red-audio", "opus"), Format: protocol.Format{Codec: "pcmu"}}, 400, "only opus"},
		{"unknown method", "mix.nothing", struct{}{}, 400, "unknown method"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := h.call(tc.method, tc.req, nil)
			checkErr(t, err, tc.status, tc.text)
		})
	}
	t.Run("layout errors and capacity", func(t *testing.T) {
		h.startMix(t, mixView(vw, vh), []protocol.MixInput{in})
		checkErr(t, h.call(protocol.MethodMixRegion, protocol.MixRegion{ID: mixID, Stream: "s-red", Region: "99"}, nil), 400, "region")
		checkErr(t, h.call(protocol.MethodMixRegion, protocol.MixRegion{ID: mixID, Stream: "ghost", Region: "1"}, nil), 400, "stream")
		checkErr(t, h.call(protocol.MethodMixStart, protocol.MixStart{ID: mixID, Controller: controller, View: mixView(vw, vh)}, nil), 400, "already exists")
		// Idle sessions are admitted beyond Capacity; a consumer is refused when the busy
		// sessions fill it, and admitted again once one of them stops.
		var st protocol.MixState
		if err := h.call(protocol.MethodMixStart, protocol.MixStart{ID: "m2", Controller: controller, View: mixView(vw, vh)}, &st); err != nil {
			t.Fatalf("idle mix.start at capacity: %v", err)
		}
		h.consume(t, mixID+"-video")
		m2video := st.Tracks[len(st.Tracks)-1].ID
		var res protocol.RTCExportResult
		if err := h.call(protocol.MethodRTCExport, protocol.RTCExport{TrackID: m2video}, &res); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if l, _, err := medialink.Dial(ctx, res.Address, res.Ticket, 0); err == nil {
			l.Close("test")
			t.Fatal("a consumer of a second busy mix was admitted beyond capacity 1")
		}
		if err := h.call(protocol.MethodMixStop, protocol.SessionStop{ID: mixID}, nil); err != nil {
			t.Fatal(err)
		}
		h.consume(t, m2video)
		for i := range IdlePerCapacity {
			if err := h.call(protocol.MethodMixStart, protocol.MixStart{ID: fmt.Sprintf("idle%d", i), Controller: controller, View: mixView(vw, vh)}, nil); err != nil {
				checkErr(t, err, 503, "capacity")
				if i != IdlePerCapacity-1 {
					t.Fatalf("idle mix %d refused: %v", i, err)
				}
				return
			}
		}
		t.Fatalf("more than %d idle mixes admitted at capacity 1", IdlePerCapacity)
	})
}

// checkErr checks a bus error's HTTP status and that its message contains text.
func checkErr(t *testing.T, err error, status int, text string) {
	t.Helper()
	e := errs.As(err)
	if e == nil {
		t.Fatalf("error %v, want status %d", err, status)
	}
	if e.Status != status || !strings.Contains(e.Message, text) {
		t.Fatalf("error %d %q, want %d containing %q", e.Status, e.Message, status, text)
	}
}

func TestMixAudioOnlyView(t *testing.T) {
	h := newHarness(t, Config{})
	in := h.addInput(t, "s-red", red, 440, 160, 120, 15)
	view := mixView(vw, vh)
	view.Video = nil
	st := h.startMix(t, view, []protocol.MixInput{in})
	if len(st.Tracks) != 1 || st.Tracks[0].Type != "audio" || len(st.Layout) != 0 {
		t.Fatalf("audio-only mix.start answer %+v", st)
	}
	checkErr(t, h.call(protocol.MethodMixRegion, protocol.MixRegion{ID: mixID, Stream: "s-red", Region: "1"}, nil), 400, "audio-only")
	c := h.consume(t, st.Tracks[0].ID)
	deadline := time.Now().Add(10 * time.Second)
	for len(c.audio()) < 24000 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	pcm := c.audio()
	if len(pcm) < 24000 || goertzel(pcm, 440) < 20*goertzel(pcm, 700) {
		t.Fatalf("audio-only mix lacks the tone (%d samples)", len(pcm))
	}
	if n := h.src.linkCount("s-red-video"); n != 0 {
		t.Errorf("audio-only mix imported the video (%d links)", n)
	}
}

func TestMixAgentStopReportsFailed(t *testing.T) {
	h := newHarness(t, Config{})
	in := h.addInput(t, "s-red", red, 440, 160, 120, 15)
	h.startMix(t, mixView(vw, vh), []protocol.MixInput{in})
	c := h.consume(t, mixID+"-video")
	c.waitPicture(t, "mixed picture", 10*time.Second, func(*yuv.Image) bool { return true })
	h.stopAgent()
	ev, _ := h.waitEvent(t, mixID, protocol.MixEventFailed, 0, 5*time.Second, nil)
	if ev.Reason == "" || ev.Agent != h.agent.ID() {
		t.Fatalf("failed event %+v", ev)
	}
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatal("consumer link open after the agent stopped")
	}
}

func TestMixKeepActiveInputPrimary(t *testing.T) {
	h := newHarness(t, Config{})
	inputs := []protocol.MixInput{
		h.addInput(t, "s-red", red, 440, 160, 120, 15),
		h.addInput(t, "s-green", green, 660, 160, 120, 15),
	}
	// s-blue arrives last but speaks loudest.
	h.src.addVideo(t, h.ctx, h.wg, "s-blue-video", blue, 160, 120, 15, false)
	h.src.addTone(t, h.ctx, h.wg, "s-blue-audio", 880, 20000)
	inputs = append(inputs, protocol.MixInput{StreamID: "s-blue", Audio: srcTrackRef("s-blue-audio", "opus"),
		Video: srcTrackRef("s-blue-video", "vp8")})
	view := mixView(vw, vh)
	view.Video.KeepActiveInputPrimary = true
	st := h.startMix(t, view, inputs)
	if st.Layout[0].Stream != "s-red" {
		t.Fatalf("initial layout %+v", st.Layout)
	}
	c := h.consume(t, mixID+"-audio")
	ev, _ := h.waitEvent(t, mixID, protocol.MixEventActiveInput, 0, 10*time.Second, func(e protocol.MixEvent) bool {
		return e.ActiveInput == "s-blue"
	})
	lay, _ := h.waitEvent(t, mixID, protocol.MixEventLayout, 0, 5*time.Second, func(e protocol.MixEvent) bool {
		return len(e.Layout) > 0 && e.Layout[0].Stream == "s-blue"
	})
	t.Logf("active %s, layout %+v", ev.ActiveInput, lay.Layout)
	c.close()
}
