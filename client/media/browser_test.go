package media

import (
	"context"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// A browser-like track over a loopback PeerConnection: the receiver's frame assembly (the
// server's, common/rtpframe) skips the padding probes, follows the resolution ramp and
// recovers from every unrepaired loss with a PLI, which makes the source jump to a keyframe.
func TestMediaBrowserTrackOverLoopback(t *testing.T) {
	for _, mime := range []string{webrtc.MimeTypeVP8, webrtc.MimeTypeH264} {
		t.Run(mime, func(t *testing.T) {
			t.Parallel()
			send, recv := loopbackPeer(t), loopbackPeer(t)
			bt, err := NewBrowserTrack(mime, BrowserOptions{Padding: true, Loss: 0.02, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			sender, err := send.AddTrack(bt)
			if err != nil {
				t.Fatal(err)
			}
			go func() { // the publisher's side of PLIs, as client.Publish does it
				for {
					pkts, _, err := sender.ReadRTCP()
					if err != nil {
						return
					}
					for _, p := range pkts {
						if _, ok := p.(*rtcp.PictureLossIndication); ok {
							bt.RequestKeyframe()
						}
					}
				}
			}()
			var fc *FrameCounter
			ready := make(chan struct{})
			recv.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
				pli := func() {
					_ = recv.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}})
				}
				fc, _ = NewFrameCounter(mime, WithKeyframeRequest(pli))
				close(ready)
				_ = fc.Consume(tr)
			})
			connect(t, send, recv)
			ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- bt.Source().Run(ctx) }()
			select {
			case <-ready:
			case <-time.After(5 * time.Second):
				t.Fatal("no track at the receiver")
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			time.Sleep(600 * time.Millisecond) // the reorder buffer gives up on the last losses
			st, sent := fc.Stats(), bt.Stats()
			t.Logf("sent %+v; received %+v", sent, st)
			switch {
			case sent.Padding == 0 || sent.Lost == 0:
				t.Fatalf("the track sent no padding or lost nothing: %+v", sent)
			case sent.Width != 640 || sent.Height != 480:
				t.Fatalf("the ramp ended at %dx%d", sent.Width, sent.Height)
			case st.Gaps == 0 || st.Keyframes < 3:
				t.Fatalf("no loss seen or no recovery keyframes: %+v", st)
			case st.Frames-st.Decodable > 30*st.Gaps:
				// Each loss costs the frames until the keyframe it asked for: a PLI round trip
				// plus the source's 200 ms keyframe throttle, well under a second's 30 frames.
				t.Fatalf("%d of %d frames undecodable after %d losses", st.Frames-st.Decodable, st.Frames, st.Gaps)
			}
		})
	}
}
