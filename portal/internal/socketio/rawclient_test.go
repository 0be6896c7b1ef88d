package socketio

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawPoll is a raw Engine.IO polling test client.
type rawPoll struct {
	t    *testing.T
	base string
	eio  int
	sid  string
}

// pollHandshake opens a polling session and returns the client, the handshake and the
// packets that followed the open packet in the first answer.
func pollHandshake(t *testing.T, base string, eio int) (*rawPoll, handshakeInfo, []enginePacket) {
	t.Helper()
	status, body, hdr := httpDo(t, http.MethodGet, pollURL(base, eio, ""), "", nil)
	if status != http.StatusOK {
		t.Fatalf("handshake status %d: %s", status, body)
	}
	if ct := hdr.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("handshake Content-Type %q", ct)
	}
	packets, err := decodePayload(eio, body)
	if err != nil || len(packets) == 0 || packets[0].typ != engineOpen {
		t.Fatalf("handshake body %q: %v", body, err)
	}
	var info handshakeInfo
	if err := json.Unmarshal([]byte(packets[0].data), &info); err != nil {
		t.Fatalf("open packet %q: %v", packets[0].data, err)
	}
	return &rawPoll{t: t, base: base, eio: eio, sid: info.SID}, info, packets[1:]
}

// get performs one long-poll GET and returns the status and decoded packets.
func (p *rawPoll) get() (int, []enginePacket) {
	p.t.Helper()
	status, body, _ := httpDo(p.t, http.MethodGet, pollURL(p.base, p.eio, p.sid), "", nil)
	if status != http.StatusOK {
		return status, nil
	}
	packets, err := decodePayload(p.eio, body)
	if err != nil {
		p.t.Fatalf("poll body %q: %v", body, err)
	}
	return status, packets
}

// post sends Engine.IO packets in one POST and returns the status.
func (p *rawPoll) post(packets ...string) int {
	p.t.Helper()
	status, _, _ := httpDo(p.t, http.MethodPost, pollURL(p.base, p.eio, p.sid), encodePayload(p.eio, packets), nil)
	return status
}

// getUntil polls until a packet with the given encoded prefix arrives.
func (p *rawPoll) getUntil(prefix string) enginePacket {
	p.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		status, packets := p.get()
		if status != http.StatusOK {
			p.t.Fatalf("poll status %d while waiting for %q", status, prefix)
		}
		for _, pk := range packets {
			if strings.HasPrefix(encodeEnginePacket(pk.typ, pk.data), prefix) {
				return pk
			}
		}
	}
	p.t.Fatalf("no packet %q", prefix)
	return enginePacket{}
}

// recorder collects sockets and disconnect reasons seen by a test server.
type recorder struct {
	sockets chan *Socket
	reasons chan string
	events  chan []json.RawMessage
}

func newRecorder() *recorder {
	return &recorder{
		sockets: make(chan *Socket, 100), reasons: make(chan string, 100), events: make(chan []json.RawMessage, 1000),
	}
}

// install registers the recorder and an "echo" handler that acks its arguments.
func (r *recorder) install(srv *Server) {
	srv.OnConnection(func(s *Socket) {
		s.On("ev", func(args []json.RawMessage, ack AckFunc) {
			r.events <- args
			if ack != nil {
				_ = ack("ok", args)
			}
		})
		s.OnDisconnect(func(reason string) { r.reasons <- reason })
		r.sockets <- s
	})
}

// socket waits for the next connected socket.
func (r *recorder) socket(t *testing.T) *Socket {
	t.Helper()
	select {
	case s := <-r.sockets:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no socket connected")
		return nil
	}
}

// reason waits for the next disconnect reason.
func (r *recorder) reason(t *testing.T, within time.Duration) string {
	t.Helper()
	select {
	case reason := <-r.reasons:
		return reason
	case <-time.After(within):
		t.Fatal("no disconnect")
		return ""
	}
}

// wsConnectV4 opens a websocket-only v4 session and joins "/".
func wsConnectV4(t *testing.T, base string) *rawWS {
	t.Helper()
	c := dialWS(t, wsURL(base, 4, ""))
	c.expect("0{")
	c.send("40")
	c.expect(`40{"sid":"`)
	return c
}
