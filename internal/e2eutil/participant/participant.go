// Package participant holds the end-to-end tests' helpers around the Go client (package
// client): loopback-only client options, joining a starting server, clip tracks and a
// recorder of the notifications a client receives. It is for tests only.
package participant

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/client/media"
)

// Options are the client options of a test participant: ICE on the loopback interface only
// (loopback addresses, interface "lo"), pion's own logging off (it reports harmless errors
// of closing connections) and events delivered to ev.
func Options(ev rtc.Events) rtc.Options {
	return rtc.Options{LoopbackOnly: true, Events: ev, ConfigureSettings: func(se *webrtc.SettingEngine) {
		f := logging.NewDefaultLoggerFactory()
		f.DefaultLogLevel = logging.LogLevelDisabled
		se.LoggerFactory = f
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	}}
}

// notReady is what a portal answers a login with while it does not know a conference agent
// yet.
const notReady = "Portal is not ready"

// JoinReady joins with a fresh token from token, retrying while the portal reports it is
// still starting; any other failure fails the test. The client is closed when the test ends.
func JoinReady(ctx context.Context, t testing.TB, token func() string, opts rtc.Options) (*rtc.Client, *rtc.JoinInfo) {
	t.Helper()
	for {
		c, info, err := rtc.Join(ctx, token(), opts)
		if err == nil {
			t.Cleanup(func() { _ = c.Close() })
			return c, info
		}
		var se *rtc.ServerError
		if !errors.As(err, &se) || se.Message != notReady {
			t.Fatalf("join: %v", err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("join: %v (%v)", err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// KeyframeClip is a clip track whose source answers the server's keyframe requests (it
// implements rtc.KeyframeRequester), as a real encoder answers PLIs.
type KeyframeClip struct {
	*webrtc.TrackLocalStaticSample
	Source *media.Source
}

// RequestKeyframe implements rtc.KeyframeRequester.
func (k KeyframeClip) RequestKeyframe() { k.Source.RequestKeyframe() }

// h264Fmtp is the constrained-baseline profile the H.264 clip is encoded in.
const h264Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"

// ClipTracks returns an Opus track and a video track of videoMime (VP8 or H.264), fed from
// the looping test clips until life ends; the video answers keyframe requests. The sources'
// figures are logged at the end.
func ClipTracks(life testing.TB, videoMime string) []webrtc.TrackLocal {
	life.Helper()
	vcap := webrtc.RTPCodecCapability{MimeType: videoMime, ClockRate: 90000}
	newSource := media.NewVP8Source
	switch videoMime {
	case webrtc.MimeTypeVP8:
	case webrtc.MimeTypeH264:
		vcap.SDPFmtpLine = h264Fmtp
		newSource = media.NewH264Source
	default:
		life.Fatalf("no test clip of %s", videoMime)
	}
	v, err := webrtc.NewTrackLocalStaticSample(vcap, "video", "clip")
	if err != nil {
		life.Fatal(err)
	}
	a, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "clip")
	if err != nil {
		life.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	vt := KeyframeClip{TrackLocalStaticSample: v, Source: newSource(v)}
	for _, src := range []*media.Source{vt.Source, media.NewOpusSource(a)} {
		wg.Go(func() { _ = src.Run(ctx) })
	}
	life.Cleanup(func() {
		cancel()
		wg.Wait()
		life.Logf("clip %s: %d frames, %d keyframes (%d forced by keyframe requests)",
			videoMime, vt.Source.Frames(), vt.Source.Keyframes(), vt.Source.ForcedKeyframes())
	})
	return []webrtc.TrackLocal{a, vt}
}
