package agent

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

const controllerID = "conference-test@ctrl"

// testLogger logs pion warnings when CONCLAVE_TEST_VERBOSE is set.
func testLogger() *slog.Logger {
	if os.Getenv("CONCLAVE_TEST_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testAgent is an agent running on a local bus.
type testAgent struct {
	*Agent
	cancel context.CancelFunc
	done   chan error
}

func startAgent(t *testing.T, hub *local.Hub) *testAgent {
	t.Helper()
	return startAgentWith(t, hub, nil)
}

// startAgentWith starts an agent whose test configuration change adjusts first.
func startAgentWith(t *testing.T, hub *local.Hub, change func(*Config)) *testAgent {
	t.Helper()
	b := local.New(hub)
	cfg := Config{Host: "test", Interfaces: []string{"lo"}, IncludeLoopback: true, MediaLinkListen: "127.0.0.1:0"}
	if change != nil {
		change(&cfg)
	}
	a, err := New(cfg, Deps{Bus: b, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ta := &testAgent{Agent: a, cancel: cancel, done: make(chan error, 1)}
	go func() { ta.done <- a.Run(ctx) }()
	select {
	case <-a.Ready():
	case err := <-ta.done:
		t.Fatalf("agent Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("agent not ready")
	}
	t.Cleanup(func() { ta.stop(t); _ = b.Close() })
	return ta
}

func (ta *testAgent) stop(t *testing.T) {
	ta.cancel()
	select {
	case err := <-ta.done:
		if err != nil {
			t.Errorf("agent Run = %v", err)
		}
		ta.done <- nil
	case <-time.After(15 * time.Second):
		t.Error("agent did not stop")
	}
}

// controller is a fake conference agent collecting RTC events.
type controller struct {
	b  bus.Bus
	mu sync.Mutex
	ev []protocol.RTCEvent
}

func newController(t *testing.T, hub *local.Hub) *controller {
	t.Helper()
	c := &controller{b: local.New(hub)}
	sub, err := c.b.Subscribe(protocol.RTCTopic(controllerID), func(_ context.Context, e bus.Event) {
		var ev protocol.RTCEvent
		if e.Decode(&ev) == nil {
			c.mu.Lock()
			c.ev = append(c.ev, ev)
			c.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close(); _ = c.b.Close() })
	return c
}

func (c *controller) call(agentID, method string, req any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.b.Call(ctx, agentID, method, req, nil)
}

// wait returns the first event matching, waiting up to 10 s.
func (c *controller) wait(t *testing.T, what string, match func(protocol.RTCEvent) bool) protocol.RTCEvent {
	t.Helper()
	var found protocol.RTCEvent
	waitFor(t, what, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, ev := range c.ev {
			if match(ev) {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

func (c *controller) waitType(t *testing.T, typ, transportID, opID string) protocol.RTCEvent {
	t.Helper()
	return c.wait(t, typ+" "+transportID+" "+opID, func(ev protocol.RTCEvent) bool {
		return ev.Type == typ && ev.TransportID == transportID && (opID == "" || ev.OperationID == opID)
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// client is a pion peer on loopback only, like a browser using the OWT JS SDK.
type client struct {
	pc       *webrtc.PeerConnection
	mu       sync.Mutex
	received map[string]*trackStats // by mid
}

// trackStats counts what a client received on one mid.
type trackStats struct {
	kind    webrtc.RTPCodecType
	pt      webrtc.PayloadType
	ssrc    webrtc.SSRC
	packets atomic.Int64
	mu      sync.Mutex
	seqs    map[uint16]int
	lastSeq uint16
}

func newClient(t *testing.T) *client { return newClientWith(t, false) }

// newClientWith returns a client; oddPTs registers only Opus (PT 109) and VP8 (PT 120), so
// forwarding must rewrite the publisher's payload types.
func newClientWith(t *testing.T, oddPTs bool) *client {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := registerCodecs(m, oddPTs); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(n string) bool { return n == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.DisableSRTPReplayProtection(true) // lets the NACK test see retransmitted duplicates
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
	if err != nil {
		t.Fatal(err)
	}
	c := &client{pc: pc, received: map[string]*trackStats{}}
	pc.OnTrack(c.onTrack)
	t.Cleanup(func() { _ = pc.GracefulClose() })
	return c
}

func (c *client) onTrack(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	mid := ""
	for _, x := range c.pc.GetTransceivers() {
		if x.Receiver() == recv {
			mid = x.Mid()
		}
	}
	st := &trackStats{kind: tr.Kind(), pt: tr.PayloadType(), ssrc: tr.SSRC(), seqs: map[uint16]int{}}
	c.mu.Lock()
	c.received[mid] = st
	c.mu.Unlock()
	for {
		p, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		st.mu.Lock()
		st.seqs[p.SequenceNumber]++
		st.lastSeq = p.SequenceNumber
		st.pt = webrtc.PayloadType(p.PayloadType)
		st.mu.Unlock()
		st.packets.Add(1)
	}
}

// payloadType returns the payload type of the last packet.
func (st *trackStats) payloadType() webrtc.PayloadType {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.pt
}

func (c *client) stats(mid string) *trackStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.received[mid]
}

// waitPackets waits until mid has received at least n more packets than it had.
func (c *client) waitPackets(t *testing.T, mid string, n int64) *trackStats {
	t.Helper()
	var base int64 = -1
	waitFor(t, "packets on mid "+mid, func() bool {
		st := c.stats(mid)
		if st == nil {
			return false
		}
		if base < 0 {
			base = st.packets.Load()
		}
		return st.packets.Load() >= base+n
	})
	return c.stats(mid)
}

// offer creates and applies an offer, waiting for the client's candidates.
func (c *client) offer(t *testing.T) string {
	t.Helper()
	o, err := c.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-g
	return c.pc.LocalDescription().SDP
}

// sender publishes synthetic VP8 (keyframe every 15 frames or on PLI) and Opus.
type sender struct {
	video, audio *webrtc.TrackLocalStaticSample
	pli          atomic.Int32
}

func (c *client) addSender(t *testing.T) (*sender, string, string) {
	t.Helper()
	s := &sender{}
	var err error
	s.audio, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "pub")
	if err != nil {
		t.Fatal(err)
	}
	s.video, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "pub")
	if err != nil {
		t.Fatal(err)
	}
	init := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}
	at, err := c.pc.AddTransceiverFromTrack(s.audio, init)
	if err != nil {
		t.Fatal(err)
	}
	vt, err := c.pc.AddTransceiverFromTrack(s.video, init)
	if err != nil {
		t.Fatal(err)
	}
	if err := at.SetMid("0"); err != nil {
		t.Fatal(err)
	}
	if err := vt.SetMid("1"); err != nil {
		t.Fatal(err)
	}
	go s.readRTCP(vt.Sender())
	go drainRTCP(at.Sender())
	return s, "0", "1"
}

func drainRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Read(buf); err != nil {
			return
		}
	}
}

func (s *sender) readRTCP(snd *webrtc.RTPSender) {
	for {
		pkts, _, err := snd.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			if _, ok := p.(*rtcp.PictureLossIndication); ok {
				s.pli.Add(1)
			}
		}
	}
}

// run sends 50 frames per second of each kind until ctx ends.
func (s *sender) run(ctx context.Context) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	lastPLI := int32(0)
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		key := i%15 == 0
		if n := s.pli.Load(); n != lastPLI {
			key, lastPLI = true, n
		}
		frame := make([]byte, 1200)
		frame[0] = 0x01 // VP8 frame tag: inter frame
		if key {
			frame[0] = 0x00
		}
		_ = s.video.WriteSample(media.Sample{Data: frame, Duration: 20 * time.Millisecond})
		_ = s.audio.WriteSample(media.Sample{Data: make([]byte, 80), Duration: 20 * time.Millisecond})
	}
}

// negotiate sends the client's offer through rtc.signaling and applies the answer event.
func negotiate(t *testing.T, ctrl *controller, agentID, transportID string, c *client) string {
	t.Helper()
	offer := c.offer(t)
	ctrl.mu.Lock()
	before := len(ctrl.ev)
	ctrl.mu.Unlock()
	if err := ctrl.call(agentID, protocol.MethodRTCSignaling, protocol.RTCSignaling{TransportID: transportID,
		Signaling: protocol.Signaling{Type: "offer", SDP: offer}}); err != nil {
		t.Fatalf("signaling offer: %v", err)
	}
	var answer string
	waitFor(t, "answer for "+transportID, func() bool {
		ctrl.mu.Lock()
		defer ctrl.mu.Unlock()
		for _, ev := range ctrl.ev[before:] {
			if ev.Type == protocol.RTCEventAnswer && ev.TransportID == transportID {
				answer = ev.SDP
				return true
			}
		}
		return false
	})
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatalf("apply answer: %v\n%s", err, answer)
	}
	return answer
}

// addReceiver adds a recvonly transceiver with the given mid.
func (c *client) addReceiver(t *testing.T, kind webrtc.RTPCodecType, mid string) {
	t.Helper()
	tr, err := c.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.SetMid(mid); err != nil {
		t.Fatal(err)
	}
}

func registerCodecs(m *webrtc.MediaEngine, oddPTs bool) error {
	if !oddPTs {
		return m.RegisterDefaultCodecs()
	}
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{PayloadType: 109, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}}, webrtc.RTPCodecTypeAudio); err != nil {
		return err
	}
	return m.RegisterCodec(webrtc.RTPCodecParameters{PayloadType: 120, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb}}, webrtc.RTPCodecTypeVideo)
}
