package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// TestAgentSinglePeerConnectionReoffer is the protocol 1.2 flow: one PeerConnection
// publishes, then re-offers with a new recvonly m-section for a subscription.
func TestAgentSinglePeerConnectionReoffer(t *testing.T) {
	hub := local.NewHub(local.Config{})
	a := startAgent(t, hub)
	ctrl := newController(t, hub)
	pc := publishAV(t, ctrl, a, "tp-one")
	pc.addReceiver(t, webrtc.RTPCodecTypeVideo, "2")
	err := ctrl.call(a.ID(), protocol.MethodRTCSubscribe, protocol.RTCSubscribe{Controller: controllerID, Owner: "p1",
		TransportID: "tp-one", OperationID: "sub-1", Tracks: []protocol.RTCSubTrack{
			{Mid: "2", Type: "video", Source: protocol.TrackRef{Agent: a.ID(), TrackID: "tp-one-1"}, Format: vp8}}})
	if err != nil {
		t.Fatalf("rtc.subscribe: %v", err)
	}
	// The pion client races two readers on one SSRC when media for a new m-section arrives
	// before it applied the answer (early media on an established transport), so the source
	// is paused across the renegotiation; browsers accept early media.
	setActive(t, ctrl, a, "tp-one", "tp-one", false)
	answer := negotiate(t, ctrl, a.ID(), "tp-one", pc)
	setActive(t, ctrl, a, "tp-one", "tp-one", true)
	ctrl.waitType(t, protocol.RTCEventComplete, "tp-one", "sub-1")
	pc.waitPackets(t, "2", 20)
	// The publication keeps flowing through the renegotiation.
	if err := ctrl.call(a.ID(), protocol.MethodRTCSubscribe, protocol.RTCSubscribe{Controller: controllerID, Owner: "p1",
		TransportID: "tp-one", OperationID: "sub-1", Tracks: []protocol.RTCSubTrack{
			{Mid: "3", Type: "video", Source: protocol.TrackRef{Agent: a.ID(), TrackID: "tp-one-1"}, Format: vp8}}}); err == nil {
		t.Fatal("duplicate operation id accepted")
	}
	if len(answer) == 0 {
		t.Fatal("empty answer")
	}
}

// TestAgentMuteUnmute mutes a subscription's video: packets stop, then resume on unmute.
func TestAgentMuteUnmute(t *testing.T) {
	hub := local.NewHub(local.Config{})
	a := startAgent(t, hub)
	ctrl := newController(t, hub)
	publishAV(t, ctrl, a, "tp-pub")
	sub := subscribeAV(t, ctrl, a, "tp-sub", protocol.TrackRef{Agent: a.ID(), TrackID: "tp-pub"})
	sub.waitPackets(t, "1", 10)
	for _, c := range []struct {
		op     string
		active bool
	}{{"tp-sub", false}, {"tp-pub", false}} {
		inactive := c.active
		if err := ctrl.call(a.ID(), protocol.MethodRTCControl, protocol.RTCControl{TransportID: c.op, OperationID: c.op,
			Kind: "video", Active: &inactive}); err != nil {
			t.Fatalf("mute %s: %v", c.op, err)
		}
		st := sub.stats("1")
		time.Sleep(150 * time.Millisecond) // packets in flight drain
		before := st.packets.Load()
		time.Sleep(400 * time.Millisecond) // 20 frames would have been sent
		if got := st.packets.Load() - before; got > 0 {
			t.Fatalf("muting %s: %d video packets still arrived", c.op, got)
		}
		sub.waitPackets(t, "0", 5) // audio is not muted
		active := true
		if err := ctrl.call(a.ID(), protocol.MethodRTCControl, protocol.RTCControl{TransportID: c.op, OperationID: c.op,
			Kind: "video", Active: &active}); err != nil {
			t.Fatalf("unmute %s: %v", c.op, err)
		}
		sub.waitPackets(t, "1", 10)
	}
}

// TestAgentNACKRetransmission asks for a packet the subscriber already has and sees it
// retransmitted by the agent's NACK responder: on the media SSRC for a subscriber without RTX,
// on the RTX SSRC (unwrapped by pion's receiver) for one that negotiated it.
func TestAgentNACKRetransmission(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rtx, off bool
	}{{"plain", false, false}, {"rtx", true, false}, {"rtx without congestion control", true, true}} {
		t.Run(tc.name, func(t *testing.T) { testNACKRetransmission(t, tc.rtx, tc.off) })
	}
}

func testNACKRetransmission(t *testing.T, rtx, ccOff bool) {
	hub := local.NewHub(local.Config{})
	a := startAgentWith(t, hub, func(c *Config) { c.Congestion.Disabled = ccOff })
	ctrl := newController(t, hub)
	publishAV(t, ctrl, a, "tp-pub")
	sub := subscribeAVWith(t, ctrl, a, "tp-sub", protocol.TrackRef{Agent: a.ID(), TrackID: "tp-pub"}, !rtx)
	if got := strings.Contains(sub.pc.RemoteDescription().SDP, "a=ssrc-group:FID"); got != rtx {
		t.Fatalf("the agent's answer announces an RTX stream: %v, want %v", got, rtx)
	}
	st := sub.waitPackets(t, "1", 10)
	st.mu.Lock()
	seq := st.lastSeq
	st.mu.Unlock()
	nack := &rtcp.TransportLayerNack{MediaSSRC: uint32(st.ssrc), Nacks: []rtcp.NackPair{{PacketID: seq}}}
	if err := sub.pc.WriteRTCP([]rtcp.Packet{nack}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "retransmission", func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.seqs[seq] >= 2
	})
}

// TestAgentCrossAgentSubscription publishes on agent A and subscribes on agent B, which
// imports the tracks over a media link.
func TestAgentCrossAgentSubscription(t *testing.T) {
	hub := local.NewHub(local.Config{})
	a, b := startAgent(t, hub), startAgent(t, hub)
	ctrl := newController(t, hub)
	publishAV(t, ctrl, a, "tp-pub")
	sub := subscribeAV(t, ctrl, b, "tp-sub", protocol.TrackRef{Agent: a.ID(), TrackID: "tp-pub"})
	sub.waitPackets(t, "0", 20)
	sub.waitPackets(t, "1", 20)
	b.mu.Lock()
	imports := len(b.imports)
	b.mu.Unlock()
	if imports != 2 {
		t.Fatalf("agent B imported %d tracks, want 2", imports)
	}
	// Ending the subscription releases the imported tracks.
	if err := ctrl.call(b.ID(), protocol.MethodRTCDestroyTransport, protocol.RTCOperation{TransportID: "tp-sub"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "relays released", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.imports) == 0
	})
}

func setActive(t *testing.T, ctrl *controller, a *testAgent, transportID, opID string, active bool) {
	t.Helper()
	if err := ctrl.call(a.ID(), protocol.MethodRTCControl, protocol.RTCControl{TransportID: transportID,
		OperationID: opID, Kind: "video", Active: &active}); err != nil {
		t.Fatalf("rtc.control %s active=%v: %v", opID, active, err)
	}
}
