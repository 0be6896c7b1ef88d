package media

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// loopbackPeer returns a PeerConnection restricted to loopback UDP4.
func loopbackPeer(t *testing.T) *webrtc.PeerConnection {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}

// connect runs a non-trickle offer/answer between two peers.
func connect(t *testing.T, offerer, answerer *webrtc.PeerConnection) {
	t.Helper()
	offer, err := offerer.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := webrtc.GatheringCompletePromise(offerer)
	if err := offerer.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-g
	if err := answerer.SetRemoteDescription(*offerer.LocalDescription()); err != nil {
		t.Fatal(err)
	}
	answer, err := answerer.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	g = webrtc.GatheringCompletePromise(answerer)
	if err := answerer.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-g
	if err := offerer.SetRemoteDescription(*answerer.LocalDescription()); err != nil {
		t.Fatal(err)
	}
}

func TestMediaSourcesOverLoopbackPeerConnection(t *testing.T) {
	tests := []struct {
		mime   string
		kind   string
		source func(SampleWriter) *Source
		want   int64
	}{
		{webrtc.MimeTypeVP8, "video", NewVP8Source, 30},
		{webrtc.MimeTypeH264, "video", NewH264Source, 30},
		{webrtc.MimeTypeOpus, "audio", NewOpusSource, 50},
	}
	for _, tt := range tests {
		t.Run(tt.mime, func(t *testing.T) {
			send, recv := loopbackPeer(t), loopbackPeer(t)
			caps := webrtc.RTPCodecCapability{MimeType: tt.mime, ClockRate: 90000}
			if tt.kind == "audio" {
				caps = webrtc.RTPCodecCapability{MimeType: tt.mime, ClockRate: 48000, Channels: 2}
			}
			if tt.mime == webrtc.MimeTypeH264 {
				caps.SDPFmtpLine = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
			}
			track, err := webrtc.NewTrackLocalStaticSample(caps, tt.kind, "stream")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := send.AddTrack(track); err != nil {
				t.Fatal(err)
			}
			fc, err := NewFrameCounter(tt.mime)
			if err != nil {
				t.Fatal(err)
			}
			consumed := make(chan error, 1)
			recv.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { consumed <- fc.Consume(tr) })
			connect(t, send, recv)

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			src := tt.source(track)
			ran := make(chan error, 1)
			go func() { ran <- src.Run(ctx) }()
			if err := fc.WaitDecodable(ctx, tt.want); err != nil {
				t.Fatalf("%v (stats %+v, sent %d)", err, fc.Stats(), src.Frames())
			}
			cancel()
			if err := <-ran; err != nil {
				t.Fatalf("Run: %v", err)
			}
			st := fc.Stats()
			if st.Keyframes < 1 || st.Frames > src.Frames() {
				t.Fatalf("stats %+v, sent %d", st, src.Frames())
			}
			_ = recv.Close()
			select {
			case err := <-consumed:
				if err != nil {
					t.Logf("Consume ended with %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Consume did not end after close")
			}
		})
	}
}
