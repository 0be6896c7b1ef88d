package client

import (
	"context"
	"fmt"
	"sync"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/webrtc/v4"
)

// SubscribeOptions select what to receive. With neither Audio nor Video set, every kind
// the stream carries is subscribed.
type SubscribeOptions struct {
	Audio bool
	Video bool
	// VideoFrom subscribes the video from this track id instead of the stream (a simulcast
	// layer, "<transportId>-<mid>:<rid>").
	VideoFrom string
	// VideoFormat and VideoParameters request a transcoded video: another codec, or another
	// resolution, framerate, bitrate or keyframe interval, among the stream's `optional`
	// capabilities. Nil keeps the source's.
	VideoFormat     *protocol.Format
	VideoParameters *protocol.VideoParameters
	// OnTrack is called (on its own goroutine, by pion) for each remote track; it may read
	// the track until it returns an error. Tracks are also available from Track/WaitTrack.
	OnTrack func(*webrtc.TrackRemote, *webrtc.RTPReceiver)
}

// Subscription is a stream this client receives, on its own PeerConnection.
type Subscription struct {
	*session
	streamID string

	tmu     sync.Mutex
	tracks  map[webrtc.RTPCodecType]*webrtc.TrackRemote
	arrived chan struct{} // closed and replaced on every new track
}

// Subscribe receives stream and returns once the server reports the subscription ready.
func (c *Client) Subscribe(ctx context.Context, stream protocol.StreamInfo, opts SubscribeOptions) (*Subscription, error) {
	kinds, err := subscribedKinds(stream, opts)
	if err != nil {
		return nil, err
	}
	pc, err := c.newPeerConnection()
	if err != nil {
		return nil, err
	}
	sub := &Subscription{session: newSession(c, pc), streamID: stream.ID,
		tracks: map[webrtc.RTPCodecType]*webrtc.TrackRemote{}, arrived: make(chan struct{})}
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		sub.addTrack(t)
		if opts.OnTrack != nil {
			opts.OnTrack(t, r)
		}
	})
	for _, k := range kinds {
		kind := webrtc.NewRTPCodecType(k)
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return nil, sub.fail(fmt.Errorf("client: add %s transceiver: %w", k, err))
		}
	}
	offer, err := createOffer(ctx, pc)
	if err != nil {
		return nil, sub.fail(err)
	}
	reqs := make([]trackRequest, len(kinds))
	for i, tr := range pc.GetTransceivers() {
		reqs[i] = trackRequest{Type: kinds[i], Mid: tr.Mid(), From: stream.ID}
		if kinds[i] == "video" {
			if opts.VideoFrom != "" {
				reqs[i].From = opts.VideoFrom
			}
			reqs[i].Format, reqs[i].Parameters = opts.VideoFormat, opts.VideoParameters
		}
	}
	req := map[string]any{"media": map[string]any{"tracks": reqs}, "transport": map[string]string{"type": "webrtc"}}
	if err := sub.start(ctx, "subscribe", req, offer); err != nil {
		return nil, err
	}
	return sub, nil
}

// subscribedKinds returns the kinds to request, audio first.
func subscribedKinds(stream protocol.StreamInfo, opts SubscribeOptions) ([]string, error) {
	has := map[string]bool{}
	for _, t := range stream.Media.Tracks {
		has[t.Type] = true
	}
	want := map[string]bool{"audio": opts.Audio,
		"video": opts.Video || opts.VideoFrom != "" || opts.VideoFormat != nil || opts.VideoParameters != nil}
	if !want["audio"] && !want["video"] {
		want = has
	}
	var kinds []string
	for _, k := range []string{"audio", "video"} {
		if !want[k] {
			continue
		}
		if !has[k] {
			return nil, fmt.Errorf("client: subscribe %s of %s: %w", k, stream.ID, ErrNoTrack)
		}
		kinds = append(kinds, k)
	}
	if len(kinds) == 0 {
		return nil, fmt.Errorf("client: subscribe %s: %w", stream.ID, ErrNoTrack)
	}
	return kinds, nil
}

func (s *Subscription) addTrack(t *webrtc.TrackRemote) {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	s.tracks[t.Kind()] = t
	close(s.arrived)
	s.arrived = make(chan struct{})
}

// ID returns the subscription id.
func (s *Subscription) ID() string { return s.id }

// StreamID returns the subscribed stream's id.
func (s *Subscription) StreamID() string { return s.streamID }

// TransportID returns the transport id (equal to ID).
func (s *Subscription) TransportID() string { return s.transportID }

// PeerConnection returns the subscription's PeerConnection (for stats).
func (s *Subscription) PeerConnection() *webrtc.PeerConnection { return s.pc }

// Done is closed when the subscription ends: Close, Unsubscribe or a server error (e.g.
// the source stream left).
func (s *Subscription) Done() <-chan struct{} { return s.ended }

// Track returns the remote track of a kind, nil before it arrived.
func (s *Subscription) Track(kind webrtc.RTPCodecType) *webrtc.TrackRemote {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	return s.tracks[kind]
}

// WaitTrack waits until the remote track of a kind has arrived (its first packet).
func (s *Subscription) WaitTrack(ctx context.Context, kind webrtc.RTPCodecType) (*webrtc.TrackRemote, error) {
	for {
		s.tmu.Lock()
		t, arrived := s.tracks[kind], s.arrived
		s.tmu.Unlock()
		if t != nil {
			return t, nil
		}
		select {
		case <-arrived:
		case <-s.ended:
			return nil, fmt.Errorf("client: wait %s track: %w", kind, s.Err())
		case <-ctx.Done():
			return nil, fmt.Errorf("client: wait %s track: %w", kind, ctx.Err())
		}
	}
}

// Mute pauses "audio", "video" or "av" (subscription-control pause).
func (s *Subscription) Mute(ctx context.Context, kind string) error {
	return s.control(ctx, "subscription-control", "pause", kind)
}

// Unmute resumes "audio", "video" or "av" (subscription-control play).
func (s *Subscription) Unmute(ctx context.Context, kind string) error {
	return s.control(ctx, "subscription-control", "play", kind)
}

// Update re-points the video to another stream or track id (e.g. a simulcast layer)
// with subscription-control update.
func (s *Subscription) Update(ctx context.Context, videoFrom string) error {
	return s.control(ctx, "subscription-control", "update", map[string]any{"video": map[string]string{"from": videoFrom}})
}

// UpdateParameters changes the video parameters (resolution, framerate, bitrate such as
// "x0.5", keyFrameInterval) with subscription-control update.
func (s *Subscription) UpdateParameters(ctx context.Context, params map[string]any) error {
	return s.control(ctx, "subscription-control", "update", map[string]any{"video": map[string]any{"parameters": params}})
}

// Unsubscribe asks the server to end the subscription, then closes the PeerConnection.
func (s *Subscription) Unsubscribe(ctx context.Context) error {
	_, err := s.c.request(ctx, "unsubscribe", map[string]string{"id": s.id})
	s.close(ErrSessionClosed)
	return err
}

// Close closes the PeerConnection without telling the server.
func (s *Subscription) Close() error {
	s.close(ErrSessionClosed)
	return nil
}
