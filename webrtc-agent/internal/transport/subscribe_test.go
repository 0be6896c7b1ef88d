package transport

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// TestTransportSubscriptionWire sends a source's packets to a pion subscriber through the
// engine's batched socket and checks what arrives: every packet, in order, with its
// payload; with congestion control, each with the next transport-wide sequence number
// (the subscriber's feedback drives the estimate), without, with no such extension.
func TestTransportSubscriptionWire(t *testing.T) {
	for _, window := range []time.Duration{0, -1} {
		for _, off := range []bool{false, true} {
			t.Run(fmt.Sprintf("batch window %v congestion control off %v", window, off), func(t *testing.T) {
				testSubscriptionWire(t, window, off)
			})
		}
	}
}

func testSubscriptionWire(t *testing.T, window time.Duration, ccOff bool) {
	base := runtime.NumGoroutine()
	eng, err := NewEngine(NetConfig{Interfaces: []string{"lo"}, IncludeLoopback: true, WriteBatchWindow: window,
		Congestion: CongestionConfig{Disabled: ccOff}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := sfu.NewTrack(sfu.TrackConfig{ID: "pub-0", Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}})
	tr, err := New(Config{ID: "sub", Engine: eng, Listener: benchListener{}})
	if err != nil {
		t.Fatal(err)
	}
	api, err := receiverAPI()
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *rtp.Packet, 1024)
	twccID := make(chan int, 1)
	pc.OnTrack(func(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		for _, e := range recv.GetParameters().HeaderExtensions {
			if e.URI == sdp.TransportCCURI {
				twccID <- e.ID
			}
		}
		for {
			p, _, err := remote.ReadRTP()
			if err != nil {
				return
			}
			got <- p
		}
	})
	t.Cleanup(func() {
		_ = pc.Close()
		tr.Close()
		eng.Close()
		waitGoroutines(t, base)
	})
	if err := tr.AddSubscription("op", "ctl", []SubTrack{{Mid: "0", Kind: webrtc.RTPCodecTypeVideo, Source: src}}); err != nil {
		t.Fatal(err)
	}
	offer, err := receiverOffer(pc)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := tr.Offer(context.Background(), offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	f := &fanout{src: src}
	var first *rtp.Packet
	deadline := time.After(20 * time.Second)
	for first == nil { // keyframes until the subscription starts
		f.frame(true)
		select {
		case first = <-got:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatal("no packet reached the subscriber")
		}
	}
	f.tag = 0xAB // marks the packets checked below; warm-up packets may still arrive
	id := 0
	next, nextTWCC, checked := uint16(0), uint16(0), 0
	for frame := range 10 { // one frame at a time: a burst must fit the receiver's socket buffer
		f.frame(false)
		for checked < 10*(frame+1) {
			var p *rtp.Packet
			select {
			case p = <-got:
			case <-deadline:
				t.Fatalf("received %d of %d packets", checked, 10*(frame+1))
			}
			if len(p.Payload) < 3 || p.Payload[2] != f.tag {
				continue
			}
			if checked > 0 && p.SequenceNumber != next {
				t.Fatalf("packet %d: seq %d, want %d (loss or reordering)", checked, p.SequenceNumber, next)
			}
			next = p.SequenceNumber + 1
			if len(p.Payload) != 1100-12 || p.Payload[0] != 0x10 || p.Payload[1] != 0x01 {
				t.Fatalf("packet %d: payload %d bytes %x", checked, len(p.Payload), p.Payload[:2])
			}
			select {
			case id = <-twccID:
			default:
			}
			if id == 0 {
				t.Fatal("transport-cc not negotiated")
			}
			ext := p.GetExtension(uint8(id))
			switch {
			case ccOff && ext != nil:
				t.Fatalf("packet %d carries a transport-cc extension without congestion control", checked)
			case !ccOff:
				var tcc rtp.TransportCCExtension
				if err := tcc.Unmarshal(ext); err != nil {
					t.Fatalf("packet %d: transport-cc extension %x: %v", checked, ext, err)
				}
				if checked > 0 && tcc.TransportSequence != nextTWCC {
					t.Fatalf("packet %d: transport sequence %d, want %d", checked, tcc.TransportSequence, nextTWCC)
				}
				nextTWCC = tcc.TransportSequence + 1
			}
			checked++
		}
	}
}
