package agent

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/webrtc/v4"
)

// TestAgentBadInput checks that bad requests fail with clear typed errors, that the
// transport survives a failed offer, and that nothing leaks.
func TestAgentBadInput(t *testing.T) {
	baseline := runtime.NumGoroutine()
	t.Run("cases", func(t *testing.T) { badInputCases(t) })
	waitFor(t, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= baseline })
}

func badInputCases(t *testing.T) {
	hub := local.NewHub(local.Config{})
	a := startAgent(t, hub)
	ctrl := newController(t, hub)
	publish := func(tp, mid, typ string, formats ...protocol.Format) error {
		return ctrl.call(a.ID(), protocol.MethodRTCPublish, protocol.RTCPublish{Controller: controllerID,
			TransportID: tp, OperationID: tp, Tracks: []protocol.RTCPubTrack{{Mid: mid, Type: typ, Formats: formats}}})
	}
	offer := func(tp, sdp string) error {
		return ctrl.call(a.ID(), protocol.MethodRTCSignaling, protocol.RTCSignaling{TransportID: tp,
			Signaling: protocol.Signaling{Type: "offer", SDP: sdp}})
	}
	if err := publish("tp-bad", "0", "audio", opus); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t)
	cl.addSender(t)
	goodOffer := cl.offer(t)

	tests := []struct {
		name string
		call func() error
		code int
		msg  string
	}{
		{"garbage sdp", func() error { return offer("tp-bad", "v=0\r\nthis is not sdp") }, errs.CodeBadRequest, "invalid SDP"},
		{"unknown transport", func() error { return offer("tp-nope", goodOffer) }, errs.CodeNotFound, "Transport tp-nope does NOT exist"},
		{"unsupported codec only", func() error {
			if err := publish("tp-codec", "1", "video", protocol.Format{Codec: "h265"}); err != nil {
				return err
			}
			return offer("tp-codec", goodOffer)
		}, errs.CodeBadRequest, "No proper video codec for mid 1"},
		{"candidate before offer", func() error {
			return ctrl.call(a.ID(), protocol.MethodRTCSignaling, protocol.RTCSignaling{TransportID: "tp-codec",
				Signaling: protocol.Signaling{Type: "candidate", Candidate: []byte(`{"candidate":"a=candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0}`)}})
		}, errs.CodeBadRequest, "NOT ready"},
		{"bad track type", func() error { return publish("tp-x", "0", "data", opus) }, errs.CodeBadRequest, "invalid track type"},
		{"duplicate operation", func() error { return publish("tp-bad", "5", "audio", opus) }, errs.CodeBadRequest, "operation exists"},
		{"unknown source track", func() error {
			return ctrl.call(a.ID(), protocol.MethodRTCSubscribe, protocol.RTCSubscribe{Controller: controllerID,
				TransportID: "tp-s", OperationID: "s", Tracks: []protocol.RTCSubTrack{{Mid: "0", Type: "audio",
					Source: protocol.TrackRef{Agent: a.ID(), TrackID: "nope-0"}}}})
		}, errs.CodeStreamNotFound, "Track nope-0 does NOT exist"},
		{"terminate unknown op", func() error {
			return ctrl.call(a.ID(), protocol.MethodRTCTerminate, protocol.RTCOperation{TransportID: "tp-bad", OperationID: "zz"})
		}, errs.CodeNotFound, "operation does NOT exist"},
		{"unknown method", func() error { return ctrl.call(a.ID(), "rtc.nope", struct{}{}) }, errs.CodeBadRequest, "unknown method"},
		{"another room's transport", func() error {
			return ctrl.call(a.ID(), protocol.MethodRTCPublish, protocol.RTCPublish{Controller: controllerID,
				RoomID: "other-room", Owner: "mallory", TransportID: "tp-bad", OperationID: "m1",
				Tracks: []protocol.RTCPubTrack{{Mid: "7", Type: "audio", Formats: []protocol.Format{opus}}}})
		}, errs.CodeNotFound, "Transport tp-bad does NOT exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != tc.code || !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("error = %v, want code %d containing %q", err, tc.code, tc.msg)
			}
		})
	}
	// The failed new transports were cleaned up; tp-bad survived its garbage offer.
	a.mu.Lock()
	_, codecTransport := a.transports["tp-x"]
	a.mu.Unlock()
	if codecTransport {
		t.Fatal("transport whose first operation failed was kept")
	}
	t.Run("unknown mid is answered inactive", func(t *testing.T) {
		if err := offer("tp-bad", goodOffer); err != nil {
			t.Fatalf("offer after garbage: %v", err)
		}
		answer := ctrl.waitType(t, protocol.RTCEventAnswer, "tp-bad", "").SDP
		video := answer[strings.Index(answer, "m=video"):]
		if !strings.Contains(video, "a=inactive") || !strings.Contains(answer[:strings.Index(answer, "m=video")], "a=recvonly") {
			t.Fatalf("answer should accept audio and reject video (mid 1 unknown):\n%s", answer)
		}
		if err := cl.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("signaling after destroy", func(t *testing.T) {
		if err := ctrl.call(a.ID(), protocol.MethodRTCDestroyTransport, protocol.RTCOperation{TransportID: "tp-bad"}); err != nil {
			t.Fatal(err)
		}
		err := offer("tp-bad", goodOffer)
		var e *errs.Error
		if !errors.As(err, &e) || e.Message != "Transport tp-bad does NOT exist" {
			t.Fatalf("offer after destroy = %v", err)
		}
	})
	_ = cl.pc.GracefulClose()
	a.stop(t)
}
