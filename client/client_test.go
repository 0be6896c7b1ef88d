package client

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

func join(t *testing.T, fp *fakePortal, opts Options) (*Client, *JoinInfo) {
	t.Helper()
	opts.LoopbackOnly = true
	c, info, err := Join(testCtx(t), fp.token(), opts)
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, info
}

func TestClientJoin(t *testing.T) {
	fp := newFakePortal(t)
	c, info := join(t, fp, Options{})
	if info.ID == "" || info.ID != c.ID() || info.Role != "presenter" || info.Room.ID != "room1" || !info.Permission.Publish.Video {
		t.Fatalf("info %+v", info)
	}
	if s := c.Streams(); len(s) != 1 || s[0].ID != "s0" {
		t.Fatalf("streams %+v", s)
	}
	want := `login {"protocol":"1.2","token":"` + fp.token() + `","userAgent":{"sdk":{"type":"Go","version":"1.0"}}}`
	if !fp.seen(want) {
		t.Fatalf("login request not %s: %v", want, fp.requests)
	}
}

func TestClientJoinSDKTypeAndFailure(t *testing.T) {
	fp := newFakePortal(t)
	join(t, fp, Options{SDKType: "JavaScript", SDKVersion: "5.1"})
	if !fp.seen(`login {"protocol":"1.2","token":"` + fp.token() + `","userAgent":{"sdk":{"type":"JavaScript","version":"5.1"}}}`) {
		t.Fatal("SDK type not overridden")
	}
	fp.set(func() { fp.failEvent = "login" })
	_, _, err := Join(testCtx(t), fp.token(), Options{})
	var se *ServerError
	if !errors.As(err, &se) || se.Request != "login" || se.Message != "unauthorized" {
		t.Fatalf("Join = %v", err)
	}
	if _, _, err := Join(testCtx(t), "bm90IGpzb24=", Options{}); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("Join with a bad token = %v", err)
	}
}

// eventLog records client events.
type eventLog struct {
	mu           sync.Mutex
	streams      []protocol.StreamEvent
	participants []protocol.ParticipantEvent
	texts        []protocol.TextEvent
	drops        int
}

func (l *eventLog) events() Events {
	return Events{
		Stream: func(e protocol.StreamEvent) { l.mu.Lock(); l.streams = append(l.streams, e); l.mu.Unlock() },
		Participant: func(e protocol.ParticipantEvent) {
			l.mu.Lock()
			l.participants = append(l.participants, e)
			l.mu.Unlock()
		},
		Text: func(e protocol.TextEvent) { l.mu.Lock(); l.texts = append(l.texts, e); l.mu.Unlock() },
		Drop: func() { l.mu.Lock(); l.drops++; l.mu.Unlock() },
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestClientEvents(t *testing.T) {
	fp := newFakePortal(t)
	var log eventLog
	c, _ := join(t, fp, Options{Events: log.events()})
	s := fp.socket()
	added := existingStream
	added.ID = "s1"
	for _, ev := range []struct {
		name string
		data any
	}{
		{"participant", map[string]any{"action": "join", "data": protocol.ParticipantInfo{ID: "p2", User: "bob", Role: "viewer"}}},
		{"stream", map[string]any{"id": "s1", "status": "add", "data": added}},
		{"stream", map[string]any{"id": "s1", "status": "update", "data": map[string]string{"field": "video.status", "value": "inactive"}}},
		{"stream", map[string]any{"id": "s0", "status": "remove"}},
		{"participant", map[string]any{"action": "leave", "data": "p2"}},
		{"stream", "garbage"},
	} {
		if err := s.Emit(ev.name, ev.data); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "events", func() bool {
		log.mu.Lock()
		defer log.mu.Unlock()
		return len(log.streams) == 3 && len(log.participants) == 2
	})
	if info, ok := StreamInfoOf(log.streams[0]); !ok || info.ID != "s1" {
		t.Fatalf("add event %+v", log.streams[0])
	}
	if u, ok := log.streams[1].Data.(protocol.StreamUpdate); !ok || u.Field != "video.status" || u.Value != "inactive" {
		t.Fatalf("update event %+v", log.streams[1])
	}
	streams := c.Streams()
	if len(streams) != 1 || streams[0].ID != "s1" || streams[0].Media.Tracks[0].Status != "inactive" {
		t.Fatalf("snapshot %+v", streams)
	}
	if p, ok := log.participants[0].Data.(protocol.ParticipantInfo); !ok || p.User != "bob" || log.participants[1].Data != "p2" {
		t.Fatalf("participant events %+v", log.participants)
	}
	if ps := c.Participants(); len(ps) != 1 || ps[0].ID != c.ID() {
		t.Fatalf("participants %+v", ps)
	}
}

func TestClientTextAndDrop(t *testing.T) {
	fp := newFakePortal(t)
	var log eventLog
	c, _ := join(t, fp, Options{})
	c.OnText(log.events().Text)
	c.OnDrop(log.events().Drop)
	if err := c.Send(testCtx(t), "all", "hello"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "text", func() bool { log.mu.Lock(); defer log.mu.Unlock(); return len(log.texts) == 1 })
	if log.texts[0].Message != "hello" || !fp.seen(`text {"message":"hello","to":"all"}`) {
		t.Fatalf("texts %+v", log.texts)
	}
	_ = fp.socket().Emit("drop")
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("not closed after drop")
	}
	if !errors.Is(c.Err(), ErrDropped) || log.drops != 1 {
		t.Fatalf("Err %v drops %d", c.Err(), log.drops)
	}
	if err := c.Send(testCtx(t), "all", "x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after drop = %v", err)
	}
}

// keyframeTrack is a clip track whose keyframe requests reach its source and are counted.
type keyframeTrack struct {
	*webrtc.TrackLocalStaticSample
	src      *media.Source
	requests atomic.Int64
}

// RequestKeyframe implements KeyframeRequester.
func (k *keyframeTrack) RequestKeyframe() {
	k.requests.Add(1)
	k.src.RequestKeyframe()
}

// newTracks returns Opus and VP8 tracks fed by the clip sources until the test ends; the
// video track is a *keyframeTrack.
func newTracks(t *testing.T) []webrtc.TrackLocal {
	t.Helper()
	v, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "me")
	if err != nil {
		t.Fatal(err)
	}
	a, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "me")
	if err != nil {
		t.Fatal(err)
	}
	vt := &keyframeTrack{TrackLocalStaticSample: v, src: media.NewVP8Source(v)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, src := range []*media.Source{vt.src, media.NewOpusSource(a)} {
		wg.Go(func() { _ = src.Run(ctx) })
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	return []webrtc.TrackLocal{a, vt}
}

func TestClientPublish(t *testing.T) {
	fp := newFakePortal(t)
	c, _ := join(t, fp, Options{})
	ctx := testCtx(t)
	tracks := newTracks(t)
	pub, err := c.Publish(ctx, tracks, PublishOptions{Attributes: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if pub.ID() != "pub1" || pub.TransportID() != "pub1" {
		t.Fatalf("ids %s %s", pub.ID(), pub.TransportID())
	}
	if !fp.seen(`publish {"attributes":{"k":"v"},"media":{"tracks":[{"type":"audio","mid":"0","source":"mic"},{"type":"video","mid":"1","source":"camera"}]},"transport":{"type":"webrtc"}}`) {
		t.Fatalf("publish request: %v", fp.requests)
	}
	fp.mu.Lock()
	for _, r := range fp.requests {
		if strings.HasPrefix(r, "soac ") {
			var req struct{ Signaling struct{ SDP string } }
			_ = json.Unmarshal([]byte(r[5:]), &req)
			loopbackOnly(t, req.Signaling.SDP)
		}
	}
	fp.mu.Unlock()
	waitFor(t, "published frames", func() bool {
		v, a := fp.counter(webrtc.MimeTypeVP8), fp.counter(webrtc.MimeTypeOpus)
		return v != nil && a != nil && v.Stats().Decodable >= 30 && a.Stats().Decodable >= 50
	})
	// The fake portal sends a PLI for the video track once it arrives.
	vt := tracks[1].(*keyframeTrack)
	waitFor(t, "the PLI at the video track", func() bool { return vt.requests.Load() >= 1 })
	if err := pub.Mute(ctx, "video"); err != nil {
		t.Fatal(err)
	}
	if err := pub.Unmute(ctx, "av"); err != nil {
		t.Fatal(err)
	}
	if err := pub.Unpublish(ctx); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`stream-control {"data":"video","id":"pub1","operation":"pause"}`,
		`stream-control {"data":"av","id":"pub1","operation":"play"}`, `unpublish {"id":"pub1"}`} {
		if !fp.seen(want) {
			t.Fatalf("missing %s in %v", want, fp.requests)
		}
	}
	select {
	case <-pub.Done():
	default:
		t.Fatal("publication not done after Unpublish")
	}
	if !errors.Is(pub.Err(), ErrSessionClosed) {
		t.Fatalf("Err = %v", pub.Err())
	}
}

func TestClientSubscribe(t *testing.T) {
	fp := newFakePortal(t)
	c, _ := join(t, fp, Options{})
	ctx := testCtx(t)
	fc, err := media.NewFrameCounter(webrtc.MimeTypeVP8)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.Subscribe(ctx, existingStream, SubscribeOptions{Video: true,
		OnTrack: func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { _ = fc.Consume(tr) }})
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	if !fp.seen(`subscribe {"media":{"tracks":[{"type":"video","mid":"0","from":"s0"}]},"transport":{"type":"webrtc"}}`) {
		t.Fatalf("subscribe request: %v", fp.requests)
	}
	if tr, err := sub.WaitTrack(ctx, webrtc.RTPCodecTypeVideo); err != nil || tr.Codec().MimeType != webrtc.MimeTypeVP8 {
		t.Fatalf("WaitTrack: %v", err)
	}
	if err := fc.WaitDecodable(ctx, 30); err != nil {
		t.Fatalf("%v: %+v", err, fc.Stats())
	}
	if err := sub.Update(ctx, "s0-1:l"); err != nil {
		t.Fatal(err)
	}
	if err := sub.Mute(ctx, "video"); err != nil {
		t.Fatal(err)
	}
	if err := sub.Unsubscribe(ctx); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`subscription-control {"data":{"video":{"from":"s0-1:l"}},"id":"sub1","operation":"update"}`,
		`subscription-control {"data":"video","id":"sub1","operation":"pause"}`, `unsubscribe {"id":"sub1"}`} {
		if !fp.seen(want) {
			t.Fatalf("missing %s in %v", want, fp.requests)
		}
	}
	if _, err := c.Subscribe(ctx, existingStream, SubscribeOptions{Audio: true}); !errors.Is(err, ErrNoTrack) {
		t.Fatalf("audio of a video-only stream: %v", err)
	}
	if err := c.Leave(ctx); err != nil || !fp.seen("logout") {
		t.Fatalf("Leave: %v", err)
	}
}

func TestClientSessionFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(fp *fakePortal)
		want  ServerError
	}{
		{"request refused", func(fp *fakePortal) { fp.set(func() { fp.failEvent = "publish" }) }, ServerError{Request: "publish", Message: "unauthorized"}},
		{"progress error", func(fp *fakePortal) { fp.set(func() { fp.failSoac = "No proper video codec" }) }, ServerError{Request: "progress", Message: "No proper video codec"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp := newFakePortal(t)
			c, _ := join(t, fp, Options{})
			tt.setup(fp)
			_, err := c.Publish(testCtx(t), newTracks(t), PublishOptions{})
			var se *ServerError
			if !errors.As(err, &se) || *se != tt.want {
				t.Fatalf("Publish = %v, want %v", err, &tt.want)
			}
			c.mu.Lock()
			n := len(c.sessions)
			c.mu.Unlock()
			if n != 0 {
				t.Fatalf("%d sessions left registered", n)
			}
		})
	}
}

func TestClientWantsKeyframe(t *testing.T) {
	tests := []struct {
		name string
		pkts []rtcp.Packet
		want bool
	}{
		{"pli", []rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: 1}}, true},
		{"fir after report", []rtcp.Packet{&rtcp.ReceiverReport{}, &rtcp.FullIntraRequest{MediaSSRC: 1}}, true},
		{"nack and report", []rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: 1}, &rtcp.ReceiverReport{}}, false},
		{"empty", nil, false},
	}
	for _, tt := range tests {
		if got := wantsKeyframe(tt.pkts); got != tt.want {
			t.Errorf("%s: wantsKeyframe = %v, want %v", tt.name, got, tt.want)
		}
	}
}
