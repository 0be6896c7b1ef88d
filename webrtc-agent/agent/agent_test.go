package agent

import (
	"context"
	"testing"

	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/webrtc/v4"
)

var (
	opus = protocol.Format{Codec: "opus", SampleRate: 48000, ChannelNum: 2}
	vp8  = protocol.Format{Codec: "vp8"}
)

// publishAV publishes audio (mid 0) and video (mid 1) from a new client on transportID and
// waits until both tracks arrived; it returns the client and a stop function.
func publishAV(t *testing.T, ctrl *controller, a *testAgent, transportID string) *client {
	t.Helper()
	pub := newClient(t)
	snd, amid, vmid := pub.addSender(t)
	err := ctrl.call(a.ID(), protocol.MethodRTCPublish, protocol.RTCPublish{Controller: controllerID, Owner: "p1",
		TransportID: transportID, OperationID: transportID, Tracks: []protocol.RTCPubTrack{
			{Mid: amid, Type: "audio", Source: "mic", Formats: []protocol.Format{opus}},
			{Mid: vmid, Type: "video", Source: "camera", Formats: []protocol.Format{{Codec: "av1"}, vp8, {Codec: "h264", Profile: "CB"}}},
		}})
	if err != nil {
		t.Fatalf("rtc.publish: %v", err)
	}
	negotiate(t, ctrl, a.ID(), transportID, pub)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); snd.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	ctrl.waitType(t, protocol.RTCEventReady, transportID, "")
	ctrl.waitType(t, protocol.RTCEventComplete, transportID, transportID)
	for _, mid := range []string{amid, vmid} {
		ev := ctrl.wait(t, "track "+mid, func(ev protocol.RTCEvent) bool {
			return ev.Type == protocol.RTCEventTrack && ev.TransportID == transportID && ev.Track != nil && ev.Track.Mid == mid
		})
		want := map[string]string{amid: "opus", vmid: "vp8"}[mid]
		if ev.Track.Format.Codec != want || ev.Track.ID != transportID+"-"+mid {
			t.Fatalf("track event %+v: want codec %s", ev.Track, want)
		}
	}
	return pub
}

// subscribeAV subscribes a new client on agent a to the audio and video of source.
func subscribeAV(t *testing.T, ctrl *controller, a *testAgent, transportID string, source protocol.TrackRef) *client {
	t.Helper()
	return subscribeAVWith(t, ctrl, a, transportID, source, true)
}

// subscribeAVWith is subscribeAV with the client's codecs: oddPTs (Opus 109, VP8 120 only) or
// pion's defaults (with RTX).
func subscribeAVWith(t *testing.T, ctrl *controller, a *testAgent, transportID string, source protocol.TrackRef, oddPTs bool) *client {
	t.Helper()
	sub := newClientWith(t, oddPTs)
	sub.addReceiver(t, webrtc.RTPCodecTypeAudio, "0")
	sub.addReceiver(t, webrtc.RTPCodecTypeVideo, "1")
	audioSrc, videoSrc := source, source
	audioSrc.TrackID += "-0"
	videoSrc.TrackID += "-1"
	err := ctrl.call(a.ID(), protocol.MethodRTCSubscribe, protocol.RTCSubscribe{Controller: controllerID, Owner: "p2",
		TransportID: transportID, OperationID: transportID, Tracks: []protocol.RTCSubTrack{
			{Mid: "0", Type: "audio", Source: audioSrc, Format: opus},
			{Mid: "1", Type: "video", Source: videoSrc, Format: vp8},
		}})
	if err != nil {
		t.Fatalf("rtc.subscribe: %v", err)
	}
	negotiate(t, ctrl, a.ID(), transportID, sub)
	ctrl.waitType(t, protocol.RTCEventReady, transportID, "")
	ctrl.waitType(t, protocol.RTCEventComplete, transportID, transportID)
	return sub
}

// negotiatedPT returns the payload type the client's local description uses first for mid.
func negotiatedPT(t *testing.T, c *client, mid string) webrtc.PayloadType {
	t.Helper()
	for _, tr := range c.pc.GetTransceivers() {
		if tr.Mid() == mid {
			if r := tr.Receiver(); r != nil {
				if p := r.GetParameters(); len(p.Codecs) > 0 {
					return p.Codecs[0].PayloadType
				}
			}
		}
	}
	t.Fatalf("no codec negotiated on mid %s", mid)
	return 0
}

func TestAgentPublishSubscribe(t *testing.T) {
	hub := local.NewHub(local.Config{})
	a := startAgent(t, hub)
	ctrl := newController(t, hub)
	publishAV(t, ctrl, a, "tp-pub")
	sub := subscribeAV(t, ctrl, a, "tp-sub", protocol.TrackRef{Agent: a.ID(), TrackID: "tp-pub"})
	for _, mid := range []string{"0", "1"} {
		st := sub.waitPackets(t, mid, 20)
		want := map[string]webrtc.PayloadType{"0": 109, "1": 120}[mid]
		if pt := negotiatedPT(t, sub, mid); st.payloadType() != want || pt != want {
			t.Fatalf("mid %s: payload type %d, negotiated %d, want %d", mid, st.payloadType(), pt, want)
		}
	}
}
