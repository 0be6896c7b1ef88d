package whip

import (
	"encoding/json"
	"sync"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// socket is the signaling.Socket of a WHIP or WHEP session: the portal's OWT signaling
// talks to it as to a Socket.IO client, and it turns the progress events of the session's
// one publication or subscription into channel sends. Emit runs under the signaling
// client's lock, so it never blocks.
type socket struct {
	id string

	mu          sync.Mutex
	transportID string
	answers     chan string   // SDP answers of the transport (cap 1: one offer at a time)
	ended       chan struct{} // closed once: error progress, drop or Disconnect
	reason      string
}

func newSocket(id string) *socket {
	return &socket{id: id, answers: make(chan string, 1), ended: make(chan struct{})}
}

// ID implements signaling.Socket: the participant id.
func (s *socket) ID() string { return s.id }

// Authenticate implements signaling.Socket; a WHIP session counts as no pending socket.
func (s *socket) Authenticate() {}

// Disconnect implements signaling.Socket: the portal ends the participant.
func (s *socket) Disconnect() { s.end("disconnected") }

// watch routes the progress of transportID to this socket.
func (s *socket) watch(transportID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.transportID = transportID
}

// progress is an OWT progress event (owt-protocol.md §4.5).
type progress struct {
	ID     string          `json:"id"`
	Status string          `json:"status"`
	Data   json.RawMessage `json:"data"`
}

// Emit implements signaling.Socket.
func (s *socket) Emit(event string, args ...any) error {
	switch event {
	case protocol.EventDrop:
		s.end("dropped by the room")
	case protocol.EventProgress:
		if len(args) > 0 {
			s.onProgress(args[0])
		}
	}
	return nil
}

// onProgress handles the progress of the watched transport: an answer, or an error.
func (s *socket) onProgress(arg any) {
	raw, ok := arg.(json.RawMessage)
	if !ok {
		return
	}
	var p progress
	if json.Unmarshal(raw, &p) != nil {
		return
	}
	s.mu.Lock()
	mine := p.ID != "" && p.ID == s.transportID
	s.mu.Unlock()
	if !mine {
		return
	}
	switch p.Status {
	case "soac":
		var sig struct{ Type, SDP string }
		if json.Unmarshal(p.Data, &sig) == nil && sig.Type == "answer" {
			select {
			case s.answers <- sig.SDP:
			default:
			}
		}
	case "error":
		var reason string
		if json.Unmarshal(p.Data, &reason) != nil {
			reason = string(p.Data)
		}
		s.end(reason)
	}
}

// end closes ended once, keeping the first reason.
func (s *socket) end(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.ended:
	default:
		s.reason = reason
		close(s.ended)
	}
}

// why returns the reason the session ended.
func (s *socket) why() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}
