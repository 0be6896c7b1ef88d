package chaos

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
	"github.com/pion/webrtc/v4"
)

// join logs in with fresh tokens until it works or ctx ends: while a deployment settles
// (a portal not ready yet, a token naming a portal that just died, a room whose owner died)
// joins fail and are retried. It returns the client and the time the join took.
func join(ctx context.Context, t *testing.T, token func() string, ev *participant.Recorder) (*rtc.Client, time.Duration) {
	t.Helper()
	begin := time.Now()
	var last error
	opts := participant.Options(rtc.Events{})
	if ev != nil {
		opts = participant.Options(ev.Events())
	}
	for ctx.Err() == nil {
		actx, cancel := context.WithTimeout(ctx, 8*time.Second)
		c, _, err := rtc.Join(actx, token(), opts)
		cancel()
		if err == nil {
			t.Cleanup(func() { _ = c.Close() })
			return c, time.Since(begin)
		}
		last = err
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("join: %v (last error: %v)", ctx.Err(), last)
	return nil, 0
}

// publish publishes the clips and waits until the observer sees the stream added; the clips
// play until life ends (a stream may outlive the subtest that published it).
func publish(ctx context.Context, t, life *testing.T, c *rtc.Client, observer *participant.Recorder) *rtc.Publication {
	t.Helper()
	pub, err := c.Publish(ctx, participant.ClipTracks(life, webrtc.MimeTypeVP8), rtc.PublishOptions{})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	observer.WaitAt(ctx, t, "stream add", participant.StreamEvent("add", pub.ID()))
	return pub
}

// subscribe subscribes stream and waits for decodable VP8 frames.
func subscribe(ctx context.Context, t *testing.T, c *rtc.Client, streamID string) *rtc.Subscription {
	t.Helper()
	info, ok := c.Stream(streamID)
	if !ok {
		t.Fatalf("stream %s unknown to the subscriber", streamID)
	}
	fc, err := media.NewFrameCounter(webrtc.MimeTypeVP8)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.Subscribe(ctx, info, rtc.SubscribeOptions{Audio: true, Video: true, OnTrack: func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if strings.EqualFold(tr.Codec().MimeType, webrtc.MimeTypeVP8) {
			_ = fc.Consume(tr)
		} else {
			buf := make([]byte, 1500)
			for {
				if _, _, err := tr.Read(buf); err != nil {
					return
				}
			}
		}
	}})
	if err != nil {
		t.Fatalf("subscribe %s: %v", streamID, err)
	}
	if err := fc.WaitDecodable(ctx, 10); err != nil {
		t.Fatalf("subscription of %s: %v (%+v)", streamID, err, fc.Stats())
	}
	return sub
}

// ended waits until done is closed (a session or client ended) and returns when it happened.
func ended(ctx context.Context, t *testing.T, what string, done <-chan struct{}) time.Time {
	t.Helper()
	select {
	case <-done:
		return time.Now()
	case <-ctx.Done():
		t.Fatalf("%s did not end: %v", what, ctx.Err())
		return time.Time{}
	}
}

// serverError checks that a session ended with a server `progress` error.
func serverError(t *testing.T, what string, err error) {
	t.Helper()
	var se *rtc.ServerError
	if !errors.As(err, &se) || se.Request != "progress" {
		t.Fatalf("%s ended with %v, want a progress error", what, err)
	}
	t.Logf("%s: progress error %q", what, se.Message)
}
