package client

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// cancelTimeout bounds the unpublish/unsubscribe sent after a failed negotiation.
const cancelTimeout = 2 * time.Second

// PublishOptions describe a publication.
type PublishOptions struct {
	// Attributes are the stream's free-form attributes (any JSON object).
	Attributes any
	// Sources maps a kind ("audio", "video") to its OWT source; defaults "mic" and "camera".
	Sources map[string]string
}

// KeyframeRequester is implemented by a published track that can make a keyframe on
// demand: an encoder, or a wrapper pairing a pion track with the media.Source feeding it.
// When the server asks for a keyframe of the track (RTCP PLI or FIR, e.g. for a new
// subscriber), the publication calls RequestKeyframe on the sender's RTCP goroutine, so it
// must not block. Tracks that do not implement it ignore keyframe requests.
type KeyframeRequester interface {
	RequestKeyframe()
}

// trackRequest is one entry of a publish/subscribe request's media.tracks.
type trackRequest struct {
	Type   string `json:"type"`
	Mid    string `json:"mid"`
	Source string `json:"source,omitempty"`
	From   string `json:"from,omitempty"`
	// Format and Parameters ask for a transcoded video (one of the stream's `optional`
	// capabilities); absent means the source's own.
	Format     *protocol.Format          `json:"format,omitempty"`
	Parameters *protocol.VideoParameters `json:"parameters,omitempty"`
}

// sessionAck is the ack data of publish and subscribe.
type sessionAck struct {
	ID          string `json:"id"`
	TransportID string `json:"transportId"`
}

// Publication is a stream this client publishes, on its own PeerConnection.
type Publication struct {
	*session
}

// Publish sends tracks as one stream and returns once the server reports it ready.
// Every publication has its own PeerConnection (no transport.id is sent, so the server
// makes the publication id the transport id). Feed the tracks before or after Publish;
// nothing is sent until ICE connects. Tracks implementing KeyframeRequester are told when
// the server asks for a keyframe.
func (c *Client) Publish(ctx context.Context, tracks []webrtc.TrackLocal, opts PublishOptions) (*Publication, error) {
	if len(tracks) == 0 {
		return nil, fmt.Errorf("client: publish: %w", ErrNoTrack)
	}
	pc, err := c.newPeerConnection()
	if err != nil {
		return nil, err
	}
	s := newSession(c, pc)
	reqs, err := s.addSenders(tracks, opts.Sources)
	if err != nil {
		return nil, s.fail(err)
	}
	offer, err := createOffer(ctx, pc)
	if err != nil {
		return nil, s.fail(err)
	}
	for i, tr := range pc.GetTransceivers() {
		reqs[i].Mid = tr.Mid()
	}
	req := map[string]any{"media": map[string]any{"tracks": reqs}, "transport": map[string]string{"type": "webrtc"}}
	if opts.Attributes != nil {
		req["attributes"] = opts.Attributes
	}
	if err := s.start(ctx, "publish", req, offer); err != nil {
		return nil, err
	}
	return &Publication{session: s}, nil
}

// start sends a publish/subscribe request, routes its progress and negotiates.
func (s *session) start(ctx context.Context, name string, req any, offer string) error {
	data, err := s.c.request(ctx, name, req)
	if err != nil {
		return s.fail(err)
	}
	var ack sessionAck
	if json.Unmarshal(data, &ack) != nil || ack.ID == "" || ack.TransportID == "" {
		return s.fail(fmt.Errorf("%w: %s ack %.200s", ErrBadResponse, name, data))
	}
	if err := s.register(ack.ID, ack.TransportID); err != nil {
		return s.fail(err)
	}
	if err := s.negotiate(ctx, offer); err != nil {
		s.cancelAtServer(ctx, name)
		return s.fail(err)
	}
	return nil
}

// cancelAtServer withdraws a publish/subscribe whose negotiation failed, best effort.
func (s *session) cancelAtServer(ctx context.Context, name string) {
	undo := map[string]string{"publish": "unpublish", "subscribe": "unsubscribe"}[name]
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelTimeout)
	defer cancel()
	_, _ = s.c.request(ctx, undo, map[string]string{"id": s.id})
}

// addSenders adds a sendonly transceiver per track, with a goroutine draining its RTCP
// so the interceptors (NACK responder, reports) see the feedback and a KeyframeRequester
// track hears the keyframe requests.
func (s *session) addSenders(tracks []webrtc.TrackLocal, sources map[string]string) ([]trackRequest, error) {
	reqs := make([]trackRequest, 0, len(tracks))
	for _, t := range tracks {
		tr, err := s.pc.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return nil, fmt.Errorf("client: add track %s: %w", t.ID(), err)
		}
		if err := offerOnlyTrackCodec(tr, t); err != nil {
			return nil, err
		}
		kind := t.Kind().String()
		source := sources[kind]
		if source == "" {
			source = defaultSource(kind)
		}
		reqs = append(reqs, trackRequest{Type: kind, Source: source})
		sender := tr.Sender()
		kr, _ := t.(KeyframeRequester)
		s.wg.Go(func() { drainRTCP(sender, kr) })
	}
	return reqs, nil
}

// drainRTCP reads a sender's RTCP until the sender closes, passing keyframe requests to kr
// when it is not nil.
func drainRTCP(sender *webrtc.RTPSender, kr KeyframeRequester) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		if kr != nil && wantsKeyframe(pkts) {
			kr.RequestKeyframe()
		}
	}
}

// wantsKeyframe reports whether an RTCP compound packet holds a PLI or a FIR.
func wantsKeyframe(pkts []rtcp.Packet) bool {
	for _, p := range pkts {
		switch p.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			return true
		}
	}
	return false
}

// codecTrack is a track that sends one fixed codec (pion's static tracks).
type codecTrack interface {
	Codec() webrtc.RTPCodecCapability
}

// allFeedback lists every RTCP feedback the client can use; pion keeps those its media engine
// also registered for the codec.
var allFeedback = []webrtc.RTCPFeedback{
	{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"},
	{Type: "nack", Parameter: "pli"}, {Type: "transport-cc"},
}

// offerOnlyTrackCodec restricts the transceiver's offer to the codec the track really sends:
// a track of pre-encoded media cannot switch codec, so offering others would let the server
// pick one the track cannot produce.
func offerOnlyTrackCodec(tr *webrtc.RTPTransceiver, t webrtc.TrackLocal) error {
	ct, ok := t.(codecTrack)
	if !ok {
		return nil
	}
	c := ct.Codec()
	c.RTCPFeedback = allFeedback
	if err := tr.SetCodecPreferences([]webrtc.RTPCodecParameters{{RTPCodecCapability: c}}); err != nil {
		return fmt.Errorf("client: track %s: %w", t.ID(), err)
	}
	return nil
}

func defaultSource(kind string) string {
	if kind == "audio" {
		return "mic"
	}
	return "camera"
}

// ID returns the publication (stream) id.
func (p *Publication) ID() string { return p.id }

// TransportID returns the transport id (equal to ID with one PeerConnection per publication).
func (p *Publication) TransportID() string { return p.transportID }

// PeerConnection returns the publication's PeerConnection (for stats).
func (p *Publication) PeerConnection() *webrtc.PeerConnection { return p.pc }

// Done is closed when the publication ends: Close, Unpublish or a server error.
func (p *Publication) Done() <-chan struct{} { return p.ended }

// Mute pauses "audio", "video" or "av" at the server (stream-control pause).
func (p *Publication) Mute(ctx context.Context, kind string) error {
	return p.control(ctx, "stream-control", "pause", kind)
}

// Unmute resumes "audio", "video" or "av" (stream-control play).
func (p *Publication) Unmute(ctx context.Context, kind string) error {
	return p.control(ctx, "stream-control", "play", kind)
}

// Unpublish asks the server to remove the stream, then closes the PeerConnection. The
// publication is closed even when the request fails.
func (p *Publication) Unpublish(ctx context.Context) error {
	_, err := p.c.request(ctx, "unpublish", map[string]string{"id": p.id})
	p.close(ErrSessionClosed)
	return err
}

// Close closes the PeerConnection without telling the server; the server notices when
// ICE fails or the client leaves.
func (p *Publication) Close() error {
	p.close(ErrSessionClosed)
	return nil
}
