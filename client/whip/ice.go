package whip

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/pion/webrtc/v4"
)

// onCandidate queues a local candidate until the resource exists, then PATCHes it.
func (s *Session) onCandidate(c *webrtc.ICECandidate) {
	if c == nil {
		return
	}
	init := c.ToJSON()
	s.mu.Lock()
	if s.closed || s.restarting {
		s.mu.Unlock()
		return
	}
	if s.resource == "" {
		s.queued = append(s.queued, init)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.sendCandidates([]webrtc.ICECandidateInit{init})
}

// sendCandidates PATCHes candidates as one SDP fragment (RFC 8840), on its own goroutine
// so pion's callback does not wait for HTTP.
func (s *Session) sendCandidates(cands []webrtc.ICECandidateInit) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.tw.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.tw.Done()
		frag := s.fragment(cands, false)
		s.mu.Lock()
		target, etag := s.resource, s.etag
		s.mu.Unlock()
		hdr := http.Header{"If-Match": {etag}}
		res, body, err := s.do(context.Background(), http.MethodPatch, target, "application/trickle-ice-sdpfrag", frag, hdr)
		if err == nil && res.StatusCode != http.StatusNoContent {
			err = &StatusError{Method: "PATCH", Status: res.StatusCode, Body: body}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			s.errs = append(s.errs, err)
			return
		}
		s.trickled += len(cands)
	}()
}

// Trickled returns how many candidates were sent by PATCH and the PATCH failures.
func (s *Session) Trickled() (int, error) {
	s.tw.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trickled, errors.Join(s.errs...)
}

// fragment builds an SDP fragment with the local ICE credentials and the candidates under
// the first m-section (max-bundle), ending with end-of-candidates when done.
func (s *Session) fragment(cands []webrtc.ICECandidateInit, done bool) string {
	local := s.pc.LocalDescription().SDP
	var b strings.Builder
	b.WriteString(attrLine(local, "a=ice-ufrag:") + attrLine(local, "a=ice-pwd:"))
	kind, mid := firstMedia(local)
	b.WriteString("m=" + kind + " 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:" + mid + "\r\n")
	for _, c := range cands {
		b.WriteString("a=" + strings.TrimPrefix(c.Candidate, "a=") + "\r\n")
	}
	if done {
		b.WriteString("a=end-of-candidates\r\n")
	}
	return b.String()
}

// attrLine returns the first line of sdp starting with prefix, with CRLF.
func attrLine(sdp, prefix string) string {
	for line := range strings.Lines(sdp) {
		if strings.HasPrefix(line, prefix) {
			return strings.TrimRight(line, "\r\n") + "\r\n"
		}
	}
	return ""
}

// firstMedia returns the kind and mid of the first m-section.
func firstMedia(sdp string) (kind, mid string) {
	for line := range strings.Lines(sdp) {
		line = strings.TrimRight(line, "\r\n")
		if v, ok := strings.CutPrefix(line, "m="); ok && kind == "" {
			kind, _, _ = strings.Cut(v, " ")
		}
		if v, ok := strings.CutPrefix(line, "a=mid:"); ok && kind != "" {
			return kind, v
		}
	}
	return kind, "0"
}

// RestartICE restarts ICE (RFC 9725 §4.3.2): new local credentials and candidates go out
// in a PATCH, and the server's new credentials and candidates come back and are applied
// as a new answer.
func (s *Session) RestartICE(ctx context.Context) error {
	s.mu.Lock()
	s.restarting = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.restarting = false
		s.mu.Unlock()
	}()
	s.tw.Wait()
	if _, err := s.localOffer(ctx, &webrtc.OfferOptions{ICERestart: true}); err != nil {
		return err
	}
	var cands []webrtc.ICECandidateInit
	for line := range strings.Lines(s.pc.LocalDescription().SDP) {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "a=candidate:"); ok {
			cands = append(cands, webrtc.ICECandidateInit{Candidate: "candidate:" + v})
		}
	}
	s.mu.Lock()
	target := s.resource
	s.mu.Unlock()
	hdr := http.Header{"If-Match": {"*"}}
	res, body, err := s.do(ctx, http.MethodPatch, target, "application/trickle-ice-sdpfrag", s.fragment(cands, true), hdr)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return &StatusError{Method: "PATCH", Status: res.StatusCode, Body: body}
	}
	answer := restartedAnswer(s.pc.RemoteDescription().SDP, body)
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("whip: apply restarted answer: %w", err)
	}
	s.mu.Lock()
	s.etag = res.Header.Get("ETag")
	s.mu.Unlock()
	return nil
}

// restartedAnswer is the previous answer with the fragment's ICE credentials and
// candidates (under the first m-section, where BUNDLE puts them).
func restartedAnswer(prev, frag string) string {
	ufrag, pwd := attrLine(frag, "a=ice-ufrag:"), attrLine(frag, "a=ice-pwd:")
	var cands strings.Builder
	for line := range strings.Lines(frag) {
		if strings.HasPrefix(line, "a=candidate:") {
			cands.WriteString(strings.TrimRight(line, "\r\n") + "\r\n")
		}
	}
	var b strings.Builder
	media := 0
	for line := range strings.Lines(prev) {
		l := strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(l, "a=ice-ufrag:"):
			l = strings.TrimRight(ufrag, "\r\n")
		case strings.HasPrefix(l, "a=ice-pwd:"):
			l = strings.TrimRight(pwd, "\r\n")
		case strings.HasPrefix(l, "a=candidate:"), l == "a=end-of-candidates", l == "":
			continue
		case strings.HasPrefix(l, "m="):
			media++
		}
		b.WriteString(l + "\r\n")
		if strings.HasPrefix(l, "a=mid:") && media == 1 {
			b.WriteString(cands.String() + "a=end-of-candidates\r\n")
		}
	}
	return b.String()
}
