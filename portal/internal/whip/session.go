package whip

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/portal/internal/signaling"
)

// Hub is the portal's OWT signaling (*signaling.Hub): a WHIP or WHEP session is one more
// signaling session, so it joins, publishes and subscribes exactly as a Socket.IO client.
type Hub interface {
	Attach(sock signaling.Socket) *signaling.Session
}

// Session kinds, also the first segment of their URLs.
const (
	kindWHIP = "whip"
	kindWHEP = "whep"
)

// session is one WHIP or WHEP resource: a participant with one publication or subscription.
type session struct {
	id   string // resource id, also the participant id
	kind string
	sock *socket
	sig  *signaling.Session
	at   time.Time

	// mu orders the signaling requests of the session (signaling.Session needs them
	// sequential) and guards the negotiation state.
	mu          sync.Mutex
	opID        string // publication or subscription id
	transportID string
	offer       string // the last offer, for ICE restarts
	ufrag, pwd  string // the client's current ICE credentials
	etag        string
	closeOnce   sync.Once
	closed      chan struct{}
}

func newSession(hub Hub, kind string) *session {
	id := ids.UUIDHex()
	sock := newSocket(id)
	return &session{id: id, kind: kind, sock: sock, sig: hub.Attach(sock), at: time.Now(),
		etag: newETag(), closed: make(chan struct{})}
}

func newETag() string { return `"` + ids.RandomHex(8) + `"` }

// request runs one signaling request and returns the data of its "ok" answer, or the
// refusal its "error" answer maps to. The signaling session answers before Handle returns.
func (ss *session) request(event string, data any) (json.RawMessage, *Error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fail(http.StatusInternalServerError, errs.CodeUnexpected, err.Error())
	}
	var args []any
	ss.sig.Handle(event, []json.RawMessage{raw}, func(a ...any) error { args = a; return nil })
	if len(args) == 0 {
		return nil, fail(http.StatusInternalServerError, errs.CodeUnexpected, event+" was not answered")
	}
	if args[0] != "ok" {
		msg := "refused"
		if len(args) > 1 {
			msg = fmt.Sprint(args[1])
		}
		return nil, refusal(msg)
	}
	if len(args) < 2 {
		return nil, nil
	}
	out, err := json.Marshal(args[1])
	if err != nil {
		return nil, fail(http.StatusInternalServerError, errs.CodeUnexpected, err.Error())
	}
	return out, nil
}

// joined is the part of the login answer the endpoint uses.
type joined struct {
	Room struct {
		ID      string                `json:"id"`
		Streams []protocol.StreamInfo `json:"streams"`
	} `json:"room"`
}

// login joins the token's room as an OWT protocol 1.2 participant.
func (ss *session) login(token string) (joined, *Error) {
	req := map[string]any{"token": token, "protocol": "1.2",
		"userAgent": map[string]any{"sdk": map[string]string{"type": ss.kind, "version": "1"}}}
	raw, e := ss.request(signaling.EvLogin, req)
	var j joined
	if e == nil && json.Unmarshal(raw, &j) != nil {
		e = fail(http.StatusInternalServerError, errs.CodeUnexpected, "bad login answer")
	}
	return j, e
}

// opAck is the `{id, transportId}` answer of publish and subscribe.
type opAck struct {
	ID          string `json:"id"`
	TransportID string `json:"transportId"`
}

// start sends a publish or subscribe with the given tracks and routes its progress.
func (ss *session) start(event string, tracks []map[string]string, attributes map[string]string) *Error {
	req := map[string]any{"media": map[string]any{"tracks": tracks}, "transport": map[string]string{"type": "webrtc"}}
	if attributes != nil {
		req["attributes"] = attributes
	}
	raw, e := ss.request(event, req)
	if e != nil {
		return e
	}
	var a opAck
	if json.Unmarshal(raw, &a) != nil || a.ID == "" || a.TransportID == "" {
		return fail(http.StatusInternalServerError, errs.CodeUnexpected, "bad "+event+" answer")
	}
	ss.opID, ss.transportID = a.ID, a.TransportID
	ss.sock.watch(a.TransportID)
	return nil
}

// publish publishes the offer's tracks as one forward stream (WHIP).
func (ss *session) publish(tracks []track) *Error {
	sources := map[string]string{"audio": "mic", "video": "camera"}
	reqs := make([]map[string]string, 0, len(tracks))
	for _, t := range tracks {
		reqs = append(reqs, map[string]string{"type": t.kind, "mid": t.mid, "source": sources[t.kind]})
	}
	return ss.start(signaling.EvPublish, reqs, map[string]string{"via": kindWHIP})
}

// subscribe subscribes the offer's tracks to the stream's tracks of the same kind (WHEP).
// Kinds the stream lacks stay out of the request; the agent answers them inactive.
func (ss *session) subscribe(tracks []track, stream protocol.StreamInfo) *Error {
	has := map[string]bool{}
	for _, t := range stream.Media.Tracks {
		has[t.Type] = true
	}
	var reqs []map[string]string
	for _, t := range tracks {
		if has[t.kind] {
			reqs = append(reqs, map[string]string{"type": t.kind, "mid": t.mid, "from": stream.ID})
		}
	}
	if len(reqs) == 0 {
		return fail(http.StatusNotAcceptable, errs.CodeBadRequest, "the stream has none of the offered kinds")
	}
	return ss.start(signaling.EvSubscribe, reqs, nil)
}

// negotiate sends an offer on the session's transport and waits for the answer.
func (ss *session) negotiate(ctx context.Context, sdp string) (string, *Error) {
	select { // an answer of an earlier, abandoned offer must not pass for this one's
	case <-ss.sock.answers:
	default:
	}
	sig := map[string]string{"type": "offer", "sdp": sdp}
	if _, e := ss.request(signaling.EvSoac, map[string]any{"id": ss.transportID, "signaling": sig}); e != nil {
		return "", e
	}
	select {
	case answer := <-ss.sock.answers:
		return answer, nil
	case <-ss.sock.ended:
		return "", refusal(ss.sock.why())
	case <-ctx.Done():
		return "", errTimeout
	}
}

// trickle hands the fragment's candidates to the transport.
func (ss *session) trickle(f fragment) *Error {
	for _, c := range f.candidates {
		cand := map[string]any{"candidate": "a=" + c.line, "sdpMLineIndex": c.index}
		if c.mid != "" {
			cand["sdpMid"] = c.mid
		}
		sig := map[string]any{"type": "candidate", "candidate": cand}
		if _, e := ss.request(signaling.EvSoac, map[string]any{"id": ss.transportID, "signaling": sig}); e != nil {
			return e
		}
	}
	return nil
}

// close ends the session once: the participant leaves its room, which ends its publication
// or subscription and the transport under it.
func (ss *session) close(reason string) {
	ss.closeOnce.Do(func() {
		ss.sock.end(reason)
		ss.mu.Lock()
		ss.sig.Disconnected(reason)
		ss.mu.Unlock()
		close(ss.closed)
	})
}
