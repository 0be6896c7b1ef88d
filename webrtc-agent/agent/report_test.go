package agent

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/rtcp"
)

// ntpEpochOffset is the number of seconds from 1900 (NTP) to 1970 (Unix).
const ntpEpochOffset = 2208988800

// ntpToTime converts a 64-bit NTP timestamp.
func ntpToTime(ntp uint64) time.Time {
	secs := int64(ntp>>32) - ntpEpochOffset
	frac := int64(ntp & 0xFFFFFFFF)
	return time.Unix(secs, frac*1e9>>32)
}

// importer is a media-link importer like the recording agent, recording the RTP SSRC and
// timestamps and the Sender Reports it receives.
type importer struct {
	info    medialink.TrackInfo
	mu      sync.Mutex
	ssrc    uint32
	lastTS  uint32
	packets int
	reports []rtcp.SenderReport
	other   int // RTCP packets that are not Sender Reports
}

// importTrackLink exports trackID from agent a (rtc.export) and runs a media link to it
// until the test ends.
func importTrackLink(t *testing.T, ctrl *controller, a *testAgent, trackID string) *importer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var res protocol.RTCExportResult
	if err := ctrl.b.Call(ctx, a.ID(), protocol.MethodRTCExport, protocol.RTCExport{TrackID: trackID}, &res); err != nil {
		t.Fatalf("rtc.export %s: %v", trackID, err)
	}
	link, info, err := medialink.Dial(ctx, res.Address, res.Ticket, 0)
	if err != nil {
		t.Fatalf("dial media link: %v", err)
	}
	imp := &importer{info: info}
	done := make(chan struct{})
	go func() { defer close(done); _ = link.Run(context.Background(), imp.handle) }()
	t.Cleanup(func() { link.Close("test done"); <-done })
	return imp
}

func (imp *importer) handle(typ medialink.FrameType, payload []byte) {
	imp.mu.Lock()
	defer imp.mu.Unlock()
	switch typ {
	case medialink.FrameRTP:
		if len(payload) >= 12 {
			imp.ssrc = binary.BigEndian.Uint32(payload[8:12])
			imp.lastTS = binary.BigEndian.Uint32(payload[4:8])
			imp.packets++
		}
	case medialink.FrameRTCP:
		pkts, err := rtcp.Unmarshal(payload)
		if err != nil {
			imp.other++
			return
		}
		for _, p := range pkts {
			if sr, ok := p.(*rtcp.SenderReport); ok {
				imp.reports = append(imp.reports, *sr)
			} else {
				imp.other++
			}
		}
	}
}

// waitReports waits for n Sender Reports and checks each describes the RTP stream of the
// link: same SSRC, NTP time near the wall clock, RTP time near the stream's timestamps.
func (imp *importer) waitReports(t *testing.T, n int) {
	t.Helper()
	waitFor(t, "sender reports on "+imp.info.TrackID, func() bool {
		imp.mu.Lock()
		defer imp.mu.Unlock()
		return len(imp.reports) >= n && imp.packets > 0
	})
	imp.mu.Lock()
	defer imp.mu.Unlock()
	now := time.Now()
	for _, sr := range imp.reports {
		if sr.SSRC != imp.ssrc {
			t.Fatalf("%s: sender report SSRC %d, RTP SSRC %d", imp.info.TrackID, sr.SSRC, imp.ssrc)
		}
		if d := now.Sub(ntpToTime(sr.NTPTime)); d < -time.Second || d > 3*time.Second+time.Duration(n)*time.Second {
			t.Fatalf("%s: sender report NTP time %v is %v from the wall clock", imp.info.TrackID, ntpToTime(sr.NTPTime), d)
		}
		// The report's RTP time is extrapolated to its send time, so it may lead the last
		// packet by a frame or so.
		rate := int32(imp.info.ClockRate)
		if d := int32(imp.lastTS - sr.RTPTime); d < -rate/2 || d > rate*int32(3+n) {
			t.Fatalf("%s: sender report RTP time %d, stream at %d", imp.info.TrackID, sr.RTPTime, imp.lastTS)
		}
	}
	if imp.other != 0 {
		t.Fatalf("%s: %d RTCP packets that are not sender reports", imp.info.TrackID, imp.other)
	}
}

// TestAgentExportForwardsSenderReports: the publisher's Sender Reports (pion's report
// interceptor, 1/s) reach a media-link importer of each track.
func TestAgentExportForwardsSenderReports(t *testing.T) {
	hub := local.NewHub(local.Config{})
	a := startAgent(t, hub)
	ctrl := newController(t, hub)
	publishAV(t, ctrl, a, "tp-pub")
	audio := importTrackLink(t, ctrl, a, "tp-pub-0")
	video := importTrackLink(t, ctrl, a, "tp-pub-1")
	audio.waitReports(t, 2)
	video.waitReports(t, 2)
	if audio.ssrc == video.ssrc {
		t.Fatalf("audio and video share SSRC %d", audio.ssrc)
	}
}

// TestAgentRelayChainForwardsSenderReports: publisher → agent A → agent B (relay imported
// for a WebRTC subscriber) → importer of B's relay still receives the publisher's reports.
func TestAgentRelayChainForwardsSenderReports(t *testing.T) {
	hub := local.NewHub(local.Config{})
	a, b := startAgent(t, hub), startAgent(t, hub)
	ctrl := newController(t, hub)
	publishAV(t, ctrl, a, "tp-pub")
	sub := subscribeAV(t, ctrl, b, "tp-sub", protocol.TrackRef{Agent: a.ID(), TrackID: "tp-pub"})
	sub.waitPackets(t, "1", 10)
	direct := importTrackLink(t, ctrl, a, "tp-pub-1")
	relayed := importTrackLink(t, ctrl, b, "tp-pub-1")
	relayed.waitReports(t, 2)
	direct.waitReports(t, 1)
	if relayed.ssrc != direct.ssrc {
		t.Fatalf("relayed SSRC %d, direct %d", relayed.ssrc, direct.ssrc)
	}
}
