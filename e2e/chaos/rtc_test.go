package chaos

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// clientOptions keeps every participant's candidates on loopback and pion quiet.
func clientOptions(ev *recorder) rtc.Options {
	opts := rtc.Options{LoopbackOnly: true, ConfigureSettings: func(se *webrtc.SettingEngine) {
		f := logging.NewDefaultLoggerFactory()
		f.DefaultLogLevel = logging.LogLevelDisabled
		se.LoggerFactory = f
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	}}
	if ev != nil {
		opts.Events = ev.events()
	}
	return opts
}

// join logs in with fresh tokens until it works or ctx ends: while a deployment settles
// (a portal not ready yet, a token naming a portal that just died, a room whose owner died)
// joins fail and are retried. It returns the client and the time the join took.
func join(ctx context.Context, t *testing.T, token func() string, ev *recorder) (*rtc.Client, time.Duration) {
	t.Helper()
	begin := time.Now()
	var last error
	for ctx.Err() == nil {
		actx, cancel := context.WithTimeout(ctx, 8*time.Second)
		c, _, err := rtc.Join(actx, token(), clientOptions(ev))
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

// clip feeds looping VP8 + Opus clips into two tracks until the test ends; the video
// answers the server's keyframe requests.
type clip struct {
	*webrtc.TrackLocalStaticSample
	src *media.Source
}

// RequestKeyframe implements rtc.KeyframeRequester.
func (c clip) RequestKeyframe() { c.src.RequestKeyframe() }

func clipTracks(t *testing.T) []webrtc.TrackLocal {
	t.Helper()
	v, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "clip")
	if err != nil {
		t.Fatal(err)
	}
	a, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "clip")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	vt := clip{TrackLocalStaticSample: v, src: media.NewVP8Source(v)}
	for _, src := range []*media.Source{vt.src, media.NewOpusSource(a)} {
		wg.Go(func() { _ = src.Run(ctx) })
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	return []webrtc.TrackLocal{a, vt}
}

// publish publishes the clips and waits until the observer sees the stream added; the clips
// play until life ends (a stream may outlive the subtest that published it).
func publish(ctx context.Context, t, life *testing.T, c *rtc.Client, observer *recorder) *rtc.Publication {
	t.Helper()
	pub, err := c.Publish(ctx, clipTracks(life), rtc.PublishOptions{})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	observer.wait(ctx, t, "stream add", streamEvent("add", pub.ID()))
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

// dropEvent records a `drop` notification.
type dropEvent struct{}

// recorder keeps every notification of a client with its arrival time.
type recorder struct {
	mu   sync.Mutex
	evs  []any
	at   []time.Time
	more chan struct{}
}

func newRecorder() *recorder { return &recorder{more: make(chan struct{})} }

func (r *recorder) events() rtc.Events {
	return rtc.Events{
		Participant: func(ev protocol.ParticipantEvent) { r.add(ev) },
		Stream:      func(ev protocol.StreamEvent) { r.add(ev) },
		Drop:        func() { r.add(dropEvent{}) },
	}
}

func (r *recorder) add(v any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, v)
	r.at = append(r.at, time.Now())
	close(r.more)
	r.more = make(chan struct{})
}

// wait returns the arrival time of the first event that matches, waiting until ctx ends.
func (r *recorder) wait(ctx context.Context, t *testing.T, what string, match func(any) bool) time.Time {
	t.Helper()
	seen := 0
	for {
		r.mu.Lock()
		evs, at, more := r.evs, r.at, r.more
		r.mu.Unlock()
		for ; seen < len(evs); seen++ {
			if match(evs[seen]) {
				return at[seen]
			}
		}
		select {
		case <-more:
		case <-ctx.Done():
			t.Fatalf("no %s: %v; received %+v", what, ctx.Err(), evs)
		}
	}
}

// streamEvent matches a stream event of status about id.
func streamEvent(status, id string) func(any) bool {
	return func(v any) bool {
		ev, ok := v.(protocol.StreamEvent)
		return ok && ev.Status == status && ev.ID == id
	}
}

func isDrop(v any) bool { _, ok := v.(dropEvent); return ok }
