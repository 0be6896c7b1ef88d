// Package whip is a WHIP (RFC 9725) publisher and WHEP player built on pion: it needs no OWT
// signaling, only an HTTP endpoint and a bearer token (a Conclave room token or stream key,
// or any other server's credential). Candidates can be trickled by PATCH, ICE restarted by
// PATCH, and the session ends with DELETE (docs/whip-whep.md).
package whip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/conclave-rtc/conclave/client"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// Options configure a session.
type Options struct {
	// Token is sent as "Authorization: Bearer <Token>" on every request ("" sends none).
	Token string
	// API builds the PeerConnection (nil: pion's defaults; see client.NewAPI).
	API *webrtc.API
	// HTTP sends the requests (nil: http.DefaultClient).
	HTTP *http.Client
	// Trickle sends the offer at once and each local candidate by PATCH; otherwise the
	// offer waits for ICE gathering and carries every candidate.
	Trickle bool
	// OnTrack receives the remote tracks of a player (on pion's goroutine).
	OnTrack func(*webrtc.TrackRemote, *webrtc.RTPReceiver)
}

// StatusError is a refused request: the HTTP status and the body the server sent.
type StatusError struct {
	Method string
	Status int
	Body   string
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("whip: %s answered %d: %.300s", e.Method, e.Status, e.Body)
}

// ErrClosed is returned by requests on a closed session.
var ErrClosed = errors.New("whip: session closed")

// Session is a WHIP publication or WHEP playback.
type Session struct {
	pc   *webrtc.PeerConnection
	opts Options
	http *http.Client

	mu       sync.Mutex
	resource string // absolute URL of the session resource ("" until the POST answered)
	etag     string
	links    []string
	queued   []webrtc.ICECandidateInit
	closed   bool
	// restarting: an ICE restart gathers; its candidates go in the restart's own PATCH.
	restarting bool
	trickled   int
	errs       []error // failed PATCHes of trickled candidates
	tw         sync.WaitGroup
}

// Publish sends tracks to a WHIP endpoint and returns once the answer is applied.
func Publish(ctx context.Context, endpoint string, tracks []webrtc.TrackLocal, opts Options) (*Session, error) {
	return start(ctx, endpoint, opts, func(pc *webrtc.PeerConnection) error {
		for _, t := range tracks {
			tr, err := pc.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
			if err != nil {
				return fmt.Errorf("whip: add %s track: %w", t.Kind(), err)
			}
			if err := client.OfferOnlyTrackCodec(tr, t); err != nil {
				return err
			}
			kr, _ := t.(keyframeRequester)
			go drainRTCP(tr.Sender(), kr)
		}
		return nil
	})
}

// Play receives from a WHEP endpoint (kinds: "audio", "video") and returns once the answer
// is applied; tracks arrive through Options.OnTrack.
func Play(ctx context.Context, endpoint string, kinds []string, opts Options) (*Session, error) {
	return start(ctx, endpoint, opts, func(pc *webrtc.PeerConnection) error {
		if opts.OnTrack != nil {
			pc.OnTrack(opts.OnTrack)
		}
		for _, k := range kinds {
			if _, err := pc.AddTransceiverFromKind(webrtc.NewRTPCodecType(k),
				webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				return fmt.Errorf("whip: add %s transceiver: %w", k, err)
			}
		}
		return nil
	})
}

// keyframeRequester is a track that can make its next frame a keyframe
// (client.KeyframeRequester).
type keyframeRequester interface{ RequestKeyframe() }

// drainRTCP reads a sender's RTCP (so the interceptors see it) and passes the server's
// keyframe requests (PLI, FIR) to the track.
func drainRTCP(s *webrtc.RTPSender, kr keyframeRequester) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if kr != nil {
					kr.RequestKeyframe()
				}
			}
		}
	}
}

// start creates the PeerConnection, lets add set up its transceivers, and negotiates.
func start(ctx context.Context, endpoint string, opts Options, add func(*webrtc.PeerConnection) error) (*Session, error) {
	api := opts.API
	if api == nil {
		api = webrtc.NewAPI()
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
	if err != nil {
		return nil, fmt.Errorf("whip: peer connection: %w", err)
	}
	s := &Session{pc: pc, opts: opts, http: opts.HTTP}
	if s.http == nil {
		s.http = http.DefaultClient
	}
	if err := add(pc); err != nil {
		_ = pc.Close()
		return nil, err
	}
	if opts.Trickle {
		pc.OnICECandidate(s.onCandidate)
	}
	if err := s.offer(ctx, endpoint); err != nil {
		s.tw.Wait()
		_ = pc.Close()
		return nil, err
	}
	return s, nil
}

// offer POSTs the offer and applies the answer.
func (s *Session) offer(ctx context.Context, endpoint string) error {
	offer, err := s.localOffer(ctx, nil)
	if err != nil {
		return err
	}
	res, body, err := s.do(ctx, http.MethodPost, endpoint, "application/sdp", offer, nil)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusCreated {
		return &StatusError{Method: "POST", Status: res.StatusCode, Body: body}
	}
	loc, err := url.Parse(endpoint)
	if err == nil {
		loc, err = loc.Parse(res.Header.Get("Location"))
	}
	if err != nil || res.Header.Get("Location") == "" {
		return fmt.Errorf("whip: bad Location %q", res.Header.Get("Location"))
	}
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
		return fmt.Errorf("whip: apply answer: %w", err)
	}
	s.mu.Lock()
	s.resource, s.etag, s.links = loc.String(), res.Header.Get("ETag"), res.Header.Values("Link")
	queued := s.queued
	s.queued = nil
	s.mu.Unlock()
	if len(queued) > 0 {
		s.sendCandidates(queued)
	}
	return nil
}

// localOffer creates and sets an offer; without trickle it waits for gathering.
func (s *Session) localOffer(ctx context.Context, o *webrtc.OfferOptions) (string, error) {
	offer, err := s.pc.CreateOffer(o)
	if err != nil {
		return "", fmt.Errorf("whip: create offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(offer); err != nil {
		return "", fmt.Errorf("whip: set offer: %w", err)
	}
	if s.opts.Trickle && o == nil {
		return offer.SDP, nil
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", fmt.Errorf("whip: gathering: %w", ctx.Err())
	}
	return s.pc.LocalDescription().SDP, nil
}

// do sends one request with the bearer token and reads the answer.
func (s *Session) do(ctx context.Context, method, target, ctype, body string, hdr http.Header) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, strings.NewReader(body))
	if err != nil {
		return nil, "", fmt.Errorf("whip: %s: %w", method, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if s.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.opts.Token)
	}
	res, err := s.http.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("whip: %s: %w", method, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, "", fmt.Errorf("whip: %s: read answer: %w", method, err)
	}
	return res, string(data), nil
}

// PeerConnection returns the session's PeerConnection.
func (s *Session) PeerConnection() *webrtc.PeerConnection { return s.pc }

// Resource returns the session resource URL (the POST's Location).
func (s *Session) Resource() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resource
}

// Links returns the POST answer's Link header values (ICE servers, RFC 9725 §4.6).
func (s *Session) Links() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.links...)
}

// Close ends the session: DELETE on the resource, then the PeerConnection is closed.
func (s *Session) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	resource := s.resource
	s.mu.Unlock()
	s.tw.Wait()
	defer s.pc.Close()
	res, body, err := s.do(ctx, http.MethodDelete, resource, "", "", nil)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNoContent {
		return &StatusError{Method: "DELETE", Status: res.StatusCode, Body: body}
	}
	return nil
}
