package client

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/pion/webrtc/v4"
)

// progressWire is a progress event with its data left raw.
type progressWire struct {
	ID        string          `json:"id"`
	SessionID string          `json:"sessionId"`
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
}

// signalingWire is the data of a soac progress event.
type signalingWire struct {
	Type      string          `json:"type"`
	SDP       string          `json:"sdp"`
	Candidate json.RawMessage `json:"candidate"`
}

// session is what publications and subscriptions share: one PeerConnection whose
// transport id equals the session id, fed by progress events routed by transport id.
type session struct {
	c           *Client
	id          string
	transportID string
	pc          *webrtc.PeerConnection
	steps       chan progressWire // progress during negotiation
	ended       chan struct{}
	wg          sync.WaitGroup // goroutines reading RTCP / tracks

	mu  sync.Mutex
	err error
}

func newSession(c *Client, pc *webrtc.PeerConnection) *session {
	return &session{c: c, pc: pc, steps: make(chan progressWire, 16), ended: make(chan struct{})}
}

// register routes progress for transportID to the session.
func (s *session) register(id, transportID string) error {
	s.id, s.transportID = id, transportID
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.c.closed {
		return ErrClosed
	}
	s.c.sessions[transportID] = s
	return nil
}

// onProgress routes a progress event to its session. It runs on the signaling goroutine
// and never blocks.
func (c *Client) onProgress(raw json.RawMessage) {
	var p progressWire
	if json.Unmarshal(raw, &p) != nil {
		c.log.Debug("bad progress event", "data", string(raw))
		return
	}
	c.mu.Lock()
	s := c.sessions[p.ID]
	c.mu.Unlock()
	if s == nil {
		c.log.Debug("progress for an unknown transport", "id", p.ID, "status", p.Status)
		return
	}
	if p.Status == "error" {
		var reason string
		if json.Unmarshal(p.Data, &reason) != nil {
			reason = string(p.Data)
		}
		s.close(&ServerError{Request: "progress", Message: reason})
		return
	}
	select {
	case s.steps <- p:
	default: // nobody negotiates any more; later soac/ready messages carry nothing new
	}
}

// negotiate sends the offer and applies the answer, then waits for the session's ready.
func (s *session) negotiate(ctx context.Context, offer string) error {
	soac := map[string]any{"id": s.transportID, "signaling": map[string]string{"type": "offer", "sdp": offer}}
	if _, err := s.c.request(ctx, "soac", soac); err != nil {
		return err
	}
	for {
		select {
		case p := <-s.steps:
			done, err := s.step(p)
			if err != nil || done {
				return err
			}
		case <-s.ended:
			return s.Err()
		case <-s.c.SignalingDone():
			return fmt.Errorf("client: negotiate %s: %w", s.id, ErrDisconnected)
		case <-ctx.Done():
			return fmt.Errorf("client: negotiate %s: %w", s.id, ctx.Err())
		}
	}
}

// step handles one progress event; done reports the session's ready.
func (s *session) step(p progressWire) (done bool, err error) {
	switch p.Status {
	case "ready":
		return p.SessionID == s.id, nil
	case "soac":
		var sig signalingWire
		if err := json.Unmarshal(p.Data, &sig); err != nil {
			return false, fmt.Errorf("%w: soac data %.200s", ErrBadResponse, p.Data)
		}
		return false, s.applySignaling(sig)
	}
	return false, nil
}

func (s *session) applySignaling(sig signalingWire) error {
	switch sig.Type {
	case "answer":
		err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sig.SDP})
		if err != nil {
			return fmt.Errorf("client: apply answer: %w", err)
		}
	case "candidate":
		// Servers send "a=candidate:…" strings; candidates are also in the answer, so a
		// candidate that cannot be applied is not fatal.
		var cand string
		if json.Unmarshal(sig.Candidate, &cand) == nil && s.pc.RemoteDescription() != nil {
			cand = strings.TrimPrefix(cand, "a=")
			_ = s.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: cand})
		}
	}
	return nil
}

// Err returns why the session ended (a *ServerError for server failures,
// ErrSessionClosed after Close), nil while it runs.
func (s *session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// close ends the session once: it unroutes progress, closes the PeerConnection and waits
// for the session's goroutines. Progress is unrouted before ended is closed, so a caller
// woken by ended (a failed Publish) never finds the session still registered.
func (s *session) close(cause error) {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return
	}
	s.err = cause
	s.c.mu.Lock() // lock order: session, then client (nothing holds the client's lock to take a session's)
	if s.c.sessions[s.transportID] == s {
		delete(s.c.sessions, s.transportID)
	}
	s.c.mu.Unlock()
	close(s.ended)
	s.mu.Unlock()
	_ = s.pc.Close()
	s.wg.Wait()
}

// fail closes the session with err and returns err (setup failure paths).
func (s *session) fail(err error) error {
	s.close(err)
	return err
}

// control emits a *-control request for the session.
func (s *session) control(ctx context.Context, name, op string, data any) error {
	_, err := s.c.request(ctx, name, map[string]any{"id": s.id, "operation": op, "data": data})
	return err
}
