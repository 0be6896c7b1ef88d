package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/webrtc/v4"
)

// Polling intervals of the bounded waits.
const (
	notReadyRetry = 100 * time.Millisecond
	streamPoll    = 20 * time.Millisecond
)

// roomState is one room of the run and the streams its publishers published.
// mixedView is the label of a room's default view, whose mixed stream -mixed subscribes.
const mixedView = "common"

type roomState struct {
	id string

	mu      sync.Mutex
	streams []string // publication ids, in join order
}

func (r *roomState) addStream(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.streams = append(r.streams, id)
}

func (r *roomState) streamIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.streams...)
}

// member is a joined participant: its client, its publication and its subscriptions.
type member struct {
	room   *roomState
	c      *client.Client
	pub    *client.Publication // nil for subscribers
	stream string
	subs   []*subState

	stopMedia context.CancelFunc
	media     sync.WaitGroup
}

// subState is one subscription and the receivers of its tracks.
type subState struct {
	sub   *client.Subscription
	ready chan struct{}

	mu     sync.Mutex
	tracks []*trackRecv
}

func (s *subState) addTrack(t *trackRecv) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tracks = append(s.tracks, t)
}

// trackList returns the receivers of the tracks that arrived so far.
func (s *subState) trackList() []*trackRecv {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*trackRecv(nil), s.tracks...)
}

// join gets a token and joins, retrying with fresh tokens while the portal reports it is
// still starting. It returns when the token was first in hand (the join latency's origin).
func (r *runner) join(ctx context.Context, room *roomState, user string) (*client.Client, time.Time, error) {
	var t0 time.Time
	for {
		tok, err := r.api.CreateToken(ctx, room.id, user, "presenter")
		if err != nil {
			return nil, t0, kindErr("token", err)
		}
		if t0.IsZero() {
			t0 = time.Now()
		}
		opts := client.Options{API: r.webrtc, LoopbackOnly: r.cfg.Loopback}
		if r.cfg.Relay {
			opts.ICETransportPolicy = webrtc.ICETransportPolicyRelay
		}
		c, _, err := client.Join(ctx, tok, opts)
		if err == nil {
			return c, t0, nil
		}
		var se *client.ServerError
		if !errors.As(err, &se) || se.Message != "Portal is not ready" {
			return nil, t0, kindErr("join", err)
		}
		select {
		case <-ctx.Done():
			return nil, t0, kindErr("join", fmt.Errorf("%w (%w)", err, ctx.Err()))
		case <-time.After(notReadyRetry):
		}
	}
}

// startPublisher joins, publishes the clips and waits until the stream is announced (so that
// later joiners find it in their login result).
func (r *runner) startPublisher(ctx context.Context, room *roomState, user string) (*member, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.JoinTimeout)
	defer cancel()
	c, t0, err := r.join(ctx, room, user)
	if err != nil {
		return nil, err
	}
	m := &member{room: room, c: c}
	var browser *media.BrowserOptions
	if r.cfg.Browser {
		browser = &media.BrowserOptions{Padding: true, Loss: r.cfg.Loss, Seed: r.seed.Add(1)}
	}
	clips, err := newClipSet(r.cfg.Video, r.cfg.Audio, browser)
	if err != nil {
		_ = c.Close()
		return nil, kindErr("publish", err)
	}
	mctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	m.stopMedia = stop
	clips.run(mctx, &m.media)
	pub, err := c.Publish(ctx, clips.tracks, client.PublishOptions{})
	if err != nil {
		m.close()
		return nil, kindErr("publish", err)
	}
	m.pub, m.stream = pub, pub.ID()
	if _, err := waitStream(ctx, c, pub.ID()); err != nil {
		m.close()
		return nil, kindErr("publish", err)
	}
	r.publishLat.add(time.Since(t0))
	r.notePair(pub.PeerConnection())
	room.addStream(pub.ID())
	return m, nil
}

// startSubscriber joins and subscribes to every publication of the room, and returns once
// each subscription delivered its first frame.
func (r *runner) startSubscriber(ctx context.Context, room *roomState, user string) (*member, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.JoinTimeout)
	defer cancel()
	c, t0, err := r.join(ctx, room, user)
	if err != nil {
		return nil, err
	}
	m := &member{room: room, c: c}
	streams := room.streamIDs()
	if r.cfg.Mixed {
		streams = []string{room.id + "-" + mixedView}
	}
	if err := r.subscribeAll(ctx, m, streams, t0, &r.joinLat); err != nil {
		m.close()
		return nil, err
	}
	return m, nil
}

// subscribeAll subscribes m to the streams in parallel and waits for each one's first
// frame, adding the time since t0 to lat.
func (r *runner) subscribeAll(ctx context.Context, m *member, streams []string, t0 time.Time, lat *latencies) error {
	subs := make([]*subState, len(streams))
	errs := make([]error, len(streams))
	var wg sync.WaitGroup
	for i, id := range streams {
		wg.Go(func() { subs[i], errs[i] = r.subscribe(ctx, m.c, id, t0, lat) })
	}
	wg.Wait()
	for _, s := range subs {
		if s != nil {
			m.subs = append(m.subs, s)
		}
	}
	return errors.Join(errs...)
}

// subscribe subscribes to one stream and waits for its first frame.
func (r *runner) subscribe(ctx context.Context, c *client.Client, streamID string, t0 time.Time, lat *latencies) (*subState, error) {
	info, err := waitStream(ctx, c, streamID)
	if err != nil {
		return nil, kindErr("subscribe", err)
	}
	s := &subState{ready: make(chan struct{})}
	once := &sync.Once{}
	onTrack := func(tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
		t := &trackRecv{tot: &r.tot, readyOnAudio: r.cfg.Video == "none", ready: s.ready, readyOnce: once}
		s.addTrack(t)
		t.consume(tr, rcv)
	}
	sub, err := c.Subscribe(ctx, info, client.SubscribeOptions{OnTrack: onTrack})
	if err != nil {
		return nil, kindErr("subscribe", err)
	}
	s.sub = sub
	select {
	case <-s.ready:
	case <-sub.Done():
		return s, kindErr("subscription-ended", sub.Err())
	case <-ctx.Done():
		return s, kindErr("first-frame-timeout", ctx.Err())
	}
	lat.add(time.Since(t0))
	r.tot.subsLive.Add(1)
	r.notePair(sub.PeerConnection())
	return s, nil
}

// notePair counts the kind of ICE candidate pair a connected PeerConnection uses
// ("relay/host": through a TURN relay to the server's host candidate).
func (r *runner) notePair(pc *webrtc.PeerConnection) {
	kind := "unknown"
	if p := client.SelectedCandidatePair(pc); p != nil {
		kind = p.Local.Typ.String() + "/" + p.Remote.Typ.String()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pairs == nil {
		r.pairs = map[string]int{}
	}
	r.pairs[kind]++
}

// waitStream returns the stream's info once the client knows it.
func waitStream(ctx context.Context, c *client.Client, id string) (protocol.StreamInfo, error) {
	for {
		if s, ok := c.Stream(id); ok {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return protocol.StreamInfo{}, fmt.Errorf("%w: %s: %w", ErrNoStream, id, ctx.Err())
		case <-time.After(streamPoll):
		}
	}
}

// leave unsubscribes, unpublishes and logs out, bounded by ctx, then stops the media.
func (m *member) leave(ctx context.Context) error {
	var errs []error
	for _, s := range m.subs {
		if s.sub != nil {
			errs = append(errs, s.sub.Unsubscribe(ctx))
		}
	}
	if m.pub != nil {
		errs = append(errs, m.pub.Unpublish(ctx))
	}
	errs = append(errs, m.c.Leave(ctx))
	m.close()
	return errors.Join(errs...)
}

// close closes the client without telling the server and stops the media sources.
func (m *member) close() {
	_ = m.c.Close()
	if m.stopMedia != nil {
		m.stopMedia()
		m.media.Wait()
	}
}

// kindError is an error with the kind it is counted under in the report.
type kindError struct {
	kind string
	err  error
}

func (e *kindError) Error() string { return e.kind + ": " + e.err.Error() }
func (e *kindError) Unwrap() error { return e.err }

func kindErr(kind string, err error) error {
	var ke *kindError
	if errors.As(err, &ke) {
		return err
	}
	return &kindError{kind: kind, err: err}
}

// errKind returns the kind of a kindError, "other" for any other error.
func errKind(err error) string {
	var ke *kindError
	if errors.As(err, &ke) {
		return ke.kind
	}
	return "other"
}
