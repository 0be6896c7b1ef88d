// Package siotest is a minimal Socket.IO server (Engine.IO v4, websocket transport only,
// default namespace) for the client packages' tests. It is deliberately small and strict:
// it speaks exactly the framing the client must produce, and lets tests inject faults
// (silent heartbeats, server-side disconnects).
package siotest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Config tunes the test server.
type Config struct {
	PingInterval time.Duration // default 25 s
	PingTimeout  time.Duration // default 20 s
	// NoPings makes the server announce the intervals but never ping (heartbeat tests).
	NoPings bool
	// RejectConnect answers CONNECT with CONNECT_ERROR carrying this message.
	RejectConnect string
}

// AckFunc answers an event that asked for an acknowledgement.
type AckFunc func(args ...any)

// Handler handles one client event; ack is nil when the client did not ask for one.
type Handler func(args []json.RawMessage, ack AckFunc)

// Server is an httptest server speaking Engine.IO v4 over websockets at /socket.io/.
type Server struct {
	HTTP      *httptest.Server
	cfg       Config
	onConnect func(*Socket)
	sockets   chan *Socket
	wg        sync.WaitGroup
}

// New starts a server on 127.0.0.1; onConnect (may be nil) runs for each socket before
// its packets are read, so it can register handlers.
func New(cfg Config, onConnect func(*Socket)) *Server {
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 25 * time.Second
	}
	if cfg.PingTimeout <= 0 {
		cfg.PingTimeout = 20 * time.Second
	}
	s := &Server{cfg: cfg, onConnect: onConnect, sockets: make(chan *Socket, 64)}
	s.HTTP = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL returns the server's http:// base URL.
func (s *Server) URL() string { return s.HTTP.URL }

// Accepted returns the sockets as they connect.
func (s *Server) Accepted() <-chan *Socket { return s.sockets }

// Close stops the server and waits for its connections.
func (s *Server) Close() {
	s.HTTP.CloseClientConnections()
	s.HTTP.Close()
	s.wg.Wait()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.URL.Path != "/socket.io/" || q.Get("EIO") != "4" || q.Get("transport") != "websocket" {
		http.Error(w, `{"code":0,"message":"Transport unknown"}`, http.StatusBadRequest)
		return
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	s.wg.Add(1)
	defer s.wg.Done()
	sock := &Socket{srv: s, ws: ws, handlers: map[string]Handler{}, done: make(chan struct{}), ID: strconv.FormatInt(time.Now().UnixNano(), 36)}
	sock.run(r.Context())
}

// Socket is one connected client.
type Socket struct {
	ID       string
	srv      *Server
	ws       *websocket.Conn
	mu       sync.Mutex
	handlers map[string]Handler
	Pongs    atomic.Int64
	done     chan struct{}
	once     sync.Once
}

// On registers a handler; handlers run on the socket's read goroutine, in order.
func (k *Socket) On(event string, h Handler) {
	k.mu.Lock()
	k.handlers[event] = h
	k.mu.Unlock()
}

// Emit sends an event to the client.
func (k *Socket) Emit(event string, args ...any) error {
	b, err := json.Marshal(append([]any{event}, args...))
	if err != nil {
		return err
	}
	return k.writeText("42" + string(b))
}

// WriteRaw sends a raw Engine.IO frame (fault injection).
func (k *Socket) WriteRaw(frame string) error { return k.writeText(frame) }

// Disconnect sends a Socket.IO DISCONNECT ("41") and closes the websocket.
func (k *Socket) Disconnect() {
	_ = k.writeText("41")
	k.stop()
}

// Done is closed when the socket has ended.
func (k *Socket) Done() <-chan struct{} { return k.done }

func (k *Socket) stop() {
	k.once.Do(func() {
		close(k.done)
		_ = k.ws.CloseNow()
	})
}

func (k *Socket) writeText(s string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return k.ws.Write(ctx, websocket.MessageText, []byte(s))
}

func (k *Socket) run(ctx context.Context) {
	defer k.stop()
	cfg := k.srv.cfg
	open := fmt.Sprintf(`0{"sid":%q,"upgrades":[],"pingInterval":%d,"pingTimeout":%d,"maxPayload":1000000}`,
		k.ID, cfg.PingInterval.Milliseconds(), cfg.PingTimeout.Milliseconds())
	if k.writeText(open) != nil || !k.connect(ctx) {
		return
	}
	if k.srv.onConnect != nil {
		k.srv.onConnect(k)
	}
	k.srv.sockets <- k
	if !cfg.NoPings {
		go k.pinger(cfg.PingInterval)
	}
	for {
		_, b, err := k.ws.Read(ctx)
		if err != nil {
			return
		}
		if !k.handle(string(b)) {
			return
		}
	}
}

// connect waits for "40" and answers it.
func (k *Socket) connect(ctx context.Context) bool {
	_, b, err := k.ws.Read(ctx)
	if err != nil || !strings.HasPrefix(string(b), "40") {
		return false
	}
	if msg := k.srv.cfg.RejectConnect; msg != "" {
		_ = k.writeText(fmt.Sprintf(`44{"message":%q}`, msg))
		return false
	}
	return k.writeText(fmt.Sprintf(`40{"sid":%q}`, k.ID+"-s")) == nil
}

func (k *Socket) pinger(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-k.done:
			return
		case <-t.C:
			if k.writeText("2") != nil {
				return
			}
		}
	}
}

// handle processes one client frame; false ends the socket.
func (k *Socket) handle(frame string) bool {
	switch {
	case frame == "3":
		k.Pongs.Add(1)
	case frame == "41":
		return false
	case strings.HasPrefix(frame, "42"):
		k.event(frame[2:])
	}
	return true
}

func (k *Socket) event(s string) {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	var list []json.RawMessage
	if json.Unmarshal([]byte(s[n:]), &list) != nil || len(list) == 0 {
		return
	}
	var name string
	if json.Unmarshal(list[0], &name) != nil {
		return
	}
	var ack AckFunc
	if n > 0 {
		id := s[:n]
		ack = func(args ...any) {
			b, _ := json.Marshal(args)
			_ = k.writeText("43" + id + string(b))
		}
	}
	k.mu.Lock()
	h := k.handlers[name]
	k.mu.Unlock()
	if h != nil {
		h(list[1:], ack)
	}
}
