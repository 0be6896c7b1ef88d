package agent

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
	"github.com/pion/webrtc/v4"
)

// simulcastSource feeds three VP8 layers (h, m, l) registered as a local publication, one
// packet per frame, each answering keyframe requests with a keyframe of its size. Which
// layers the "publisher" sends can change while it runs.
type simulcastSource struct {
	tracks  [3]*sfu.Track
	kf      [3]atomic.Int32
	sending atomic.Uint32 // bit i: layer i is sent
}

var simulcastSizes = [3][2]int{{640, 480}, {320, 240}, {160, 120}}

func startSimulcastSource(t *testing.T, a *testAgent, prefix string) *simulcastSource {
	s := &simulcastSource{}
	s.sending.Store(7)
	for i, rid := range []string{"h", "m", "l"} {
		s.tracks[i] = sfu.NewTrack(sfu.TrackConfig{ID: prefix + ":" + rid, Kind: webrtc.RTPCodecTypeVideo,
			Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96,
			Keyframe: func() { s.kf[i].Add(1) }})
		listener{a.Agent}.TrackPublished(s.tracks[i])
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		for _, tr := range s.tracks {
			tr.Close()
			listener{a.Agent}.TrackUnpublished(tr)
		}
	})
	return s
}

// run sends a frame of every layer being sent each 10 ms.
func (s *simulcastSource) run(ctx context.Context) {
	var seen [3]int32
	seq := [3]uint16{100, 20000, 40000}
	ts := [3]uint32{1000, 500000, 900000}
	buf := make([]byte, 200)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for i := range 3 {
			if s.sending.Load()&(1<<i) == 0 {
				continue
			}
			seq[i]++
			ts[i] += 900
			key := false
			if n := s.kf[i].Load(); n != seen[i] {
				seen[i], key = n, true
			}
			b := buf[:0]
			b = append(b, 0x80, 0x80|96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) // one packet per frame: marker
			binary.BigEndian.PutUint16(b[2:], seq[i])
			binary.BigEndian.PutUint32(b[4:], ts[i])
			binary.BigEndian.PutUint32(b[8:], uint32(1000+i))
			b = append(b, 0x10) // VP8 descriptor: start of partition 0
			if key {
				b = append(b, 0x00, 0x00, 0x00, 0x9D, 0x01, 0x2A, 0, 0, 0, 0)
				binary.LittleEndian.PutUint16(b[len(b)-4:], uint16(simulcastSizes[i][0]))
				binary.LittleEndian.PutUint16(b[len(b)-2:], uint16(simulcastSizes[i][1]))
			} else {
				b = append(b, 0x01, 0x00, 0x00)
			}
			b = append(b, byte('0'+i)) // which layer this is, for the importer
			s.tracks[i].Forward(b)
		}
	}
}

// layerImporter records what a media link importer of a layer export receives.
type layerImporter struct {
	mu      sync.Mutex
	ssrcs   map[uint32]bool
	lastSeq uint16
	gaps    int
	packets int
	layer   byte // the layer of the last packet ('0' h, '1' m, '2' l)
}

func (imp *layerImporter) handle(typ medialink.FrameType, p []byte) {
	if typ != medialink.FrameRTP || len(p) < 14 {
		return
	}
	imp.mu.Lock()
	defer imp.mu.Unlock()
	seq := binary.BigEndian.Uint16(p[2:])
	if imp.packets > 0 && seq != imp.lastSeq+1 {
		imp.gaps++
	}
	imp.ssrcs[binary.BigEndian.Uint32(p[8:])] = true
	imp.lastSeq, imp.layer = seq, p[len(p)-1]
	imp.packets++
}

func (imp *layerImporter) current() byte {
	imp.mu.Lock()
	defer imp.mu.Unlock()
	return imp.layer
}

// startLayerRig starts an agent, a controller and a simulcast source with the given track
// id prefix.
func startLayerRig(t *testing.T, prefix string) (*testAgent, *controller, *simulcastSource) {
	hub := local.NewHub(local.Config{})
	a := startAgent(t, hub)
	return a, newController(t, hub), startSimulcastSource(t, a, prefix)
}

// dialExport exports trackID (rtc.export) and runs a media link to it into a layerImporter.
// The returned channel is closed when the link ends; the test's cleanup closes the link.
func dialExport(t *testing.T, ctrl *controller, a *testAgent, trackID string) (*layerImporter, <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var res protocol.RTCExportResult
	if err := ctrl.b.Call(ctx, a.ID(), protocol.MethodRTCExport, protocol.RTCExport{TrackID: trackID}, &res); err != nil {
		t.Fatal(err)
	}
	link, info, err := medialink.Dial(ctx, res.Address, res.Ticket, 0)
	if err != nil {
		t.Fatal(err)
	}
	if info.MimeType != webrtc.MimeTypeVP8 || info.TrackID != trackID {
		t.Fatalf("track info %+v", info)
	}
	imp := &layerImporter{ssrcs: map[uint32]bool{}}
	done := make(chan struct{})
	go func() { defer close(done); _ = link.Run(context.Background(), imp.handle) }()
	t.Cleanup(func() { link.Close("test done"); <-done })
	return imp, done
}

// TestAgentLayerExportFollows: a media-link export of a simulcast publication's largest
// layer (what a recording or a mix asks for) carries the next layer down while the
// publisher stops the largest, and the largest again when it resumes, in one stream: one
// SSRC, no sequence gap.
func TestAgentLayerExportFollows(t *testing.T) {
	a, ctrl, src := startLayerRig(t, "tp-sim-1")
	imp, _ := dialExport(t, ctrl, a, "tp-sim-1:h")

	waitLayer := func(what string, want byte) {
		t.Helper()
		waitFor(t, what, func() bool { return imp.current() == want })
	}
	waitLayer("the largest layer", '0')
	src.sending.Store(0b110) // the publisher stops its largest layer
	waitLayer("the middle layer once the largest stopped", '1')
	src.sending.Store(0b100)
	waitLayer("the smallest layer once the middle one stopped too", '2')
	src.sending.Store(0b111)
	waitLayer("the largest layer once it resumed", '0')

	imp.mu.Lock()
	defer imp.mu.Unlock()
	if len(imp.ssrcs) != 1 || imp.gaps != 0 {
		t.Fatalf("the export carried %d SSRCs and %d sequence gaps in %d packets; want one stream", len(imp.ssrcs), imp.gaps, imp.packets)
	}
}

// TestAgentLayerExportEndsWithSource: the link of a layer export ends when the publication
// goes away, like that of any other track.
func TestAgentLayerExportEndsWithSource(t *testing.T) {
	a, ctrl, src := startLayerRig(t, "tp-sim-2")
	imp, done := dialExport(t, ctrl, a, "tp-sim-2:m")
	waitFor(t, "the middle layer", func() bool { return imp.current() == '1' })
	for _, tr := range src.tracks {
		tr.Close()
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the link outlived its source")
	}
}

// TestAgentLayerExportSecondImporter: a second export of a layer that is already exported
// gets the stream too (its own keyframe).
func TestAgentLayerExportSecondImporter(t *testing.T) {
	a, ctrl, _ := startLayerRig(t, "tp-sim-3")
	first, _ := dialExport(t, ctrl, a, "tp-sim-3:h")
	waitFor(t, "the first importer's stream", func() bool { return first.current() == '0' })
	time.Sleep(time.Second)
	second, _ := dialExport(t, ctrl, a, "tp-sim-3:h")
	waitFor(t, "the second importer's stream", func() bool { return second.current() == '0' })
}
