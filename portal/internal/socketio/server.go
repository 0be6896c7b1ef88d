package socketio

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
)

// Server is a Socket.IO server for the default namespace over Engine.IO v3 and v4. It
// implements http.Handler; mount it at "/socket.io/". Create it with NewServer, set
// OnConnection before serving, and call Close when done.
type Server struct {
	cfg Config
	log *slog.Logger

	mu           sync.Mutex
	conns        map[string]*conn
	pending      map[string]int // unauthenticated sessions by remote address
	pendingTotal int
	closed       bool
	onConnection func(*Socket)
	// wg counts the goroutines the server owns (heartbeats, websocket writers, socket
	// handler goroutines); Close waits for them.
	wg sync.WaitGroup
}

// NewServer validates cfg, fills defaults for zero fields and returns a Server. A nil
// logger discards logs. No goroutine is started until clients connect.
func NewServer(cfg Config, logger *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg.withDefaults(), log: logger, conns: make(map[string]*conn), pending: map[string]int{}}, nil
}

// Config returns the effective configuration (defaults applied).
func (s *Server) Config() Config {
	c := s.cfg
	c.AllowedOrigins = append([]string(nil), c.AllowedOrigins...)
	return c
}

// OnConnection sets the callback run, on the new socket's handler goroutine, when a
// client joins the default namespace. Register event handlers there.
func (s *Server) OnConnection(f func(*Socket)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onConnection = f
}

// connectionHandler returns the current OnConnection callback.
func (s *Server) connectionHandler() func(*Socket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.onConnection
}

// Close rejects new sessions, closes every session (pending long-polls receive a close
// packet, websockets get a close frame after their queued packets) and waits until the
// server's goroutines, including running event handlers and disconnect handlers, have
// returned. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	clear(s.conns)
	s.mu.Unlock()
	for _, c := range conns {
		c.close(reasonServerShutdown, false)
	}
	s.wg.Wait()
	return nil
}

// spawn runs f on a goroutine owned by the server, unless the server is closed.
func (s *Server) spawn(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// register adds a new session, unless the server is closed.
func (s *Server) register(c *conn) engineError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errShuttingDown
	}
	addr := remoteHost(c.remoteAddr)
	if (s.cfg.MaxPending >= 0 && s.pendingTotal >= s.cfg.MaxPending) ||
		(s.cfg.MaxPendingPerAddress >= 0 && s.pending[addr] >= s.cfg.MaxPendingPerAddress) {
		return errTooManyPending
	}
	s.pending[addr]++
	s.pendingTotal++
	c.pendingAddr = addr
	s.conns[c.sid] = c
	return engineError{}
}

// authenticated stops counting c as an unauthenticated session (it logged in or closed).
func (s *Server) authenticated(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.release(c)
}

// release uncounts c's pending slot once; s.mu is held.
func (s *Server) release(c *conn) {
	if c.pendingAddr == "" {
		return
	}
	if s.pending[c.pendingAddr]--; s.pending[c.pendingAddr] <= 0 {
		delete(s.pending, c.pendingAddr)
	}
	s.pendingTotal--
	c.pendingAddr = ""
}

// remoteHost is the address part of a remote "host:port".
func remoteHost(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}

// forget removes a session from the registry if it is still the registered one.
func (s *Server) forget(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns[c.sid] == c {
		delete(s.conns, c.sid)
	}
	s.release(c)
}

// lookup returns the session with the given id, or nil.
func (s *Server) lookup(sid string) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[sid]
}

// sessionCount returns the number of registered sessions.
func (s *Server) sessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// ServeHTTP routes Engine.IO requests: CORS preflight, handshakes (no sid), long-poll
// GETs, POSTs and websocket upgrades. The request path is not checked.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if !s.cfg.originAllowed(origin) {
		writeEngineError(w, errForbidden)
		return
	}
	setCORSHeaders(w.Header(), origin)
	if r.Method == http.MethodOptions {
		writePreflight(w, r)
		return
	}
	q := r.URL.Query()
	protocol, ok := parseProtocol(q.Get("EIO"))
	if !ok {
		writeEngineError(w, errUnsupportedProtocol)
		return
	}
	transport := q.Get("transport")
	if (transport != "polling" && transport != "websocket") || q.Has("j") {
		writeEngineError(w, errUnknownTransport)
		return
	}
	sid := q.Get("sid")
	if sid == "" {
		s.handshake(w, r, protocol, transport)
		return
	}
	s.serveSession(w, r, protocol, transport, sid)
}

// serveSession handles a request for an existing session.
func (s *Server) serveSession(w http.ResponseWriter, r *http.Request, protocol int, transport, sid string) {
	c := s.lookup(sid)
	switch {
	case c == nil:
		writeEngineError(w, errUnknownSID)
	case c.protocol != protocol:
		writeEngineError(w, errBadRequest)
	case transport == "websocket":
		s.upgrade(w, r, c)
	case r.Method == http.MethodGet:
		c.handlePoll(w, r)
	case r.Method == http.MethodPost:
		c.handlePost(w, r)
	default:
		writeEngineError(w, errBadRequest)
	}
}

// handshake opens a new session on the requested transport.
func (s *Server) handshake(w http.ResponseWriter, r *http.Request, protocol int, transport string) {
	if r.Method != http.MethodGet {
		writeEngineError(w, errBadHandshakeMethod)
		return
	}
	if transport == "websocket" {
		s.serveWebSocketOnly(w, r, protocol)
		return
	}
	c := newConn(s, protocol, transportPolling, r)
	if e := s.register(c); e.status != 0 {
		s.log.Debug("socket.io handshake refused", "remote", r.RemoteAddr, "reason", e.message)
		writeEngineError(w, e)
		return
	}
	c.log.Debug("socket.io session opened", "transport", "polling")
	c.start()
	c.handlePoll(w, r)
}

// parseProtocol maps the EIO query parameter to a supported protocol version.
func parseProtocol(v string) (int, bool) {
	switch v {
	case "3":
		return protocolV3, true
	case "4":
		return protocolV4, true
	}
	return 0, false
}

// engineError is an Engine.IO HTTP error answer: status plus the JSON body
// {"code":…,"message":…} that engine.io clients understand.
type engineError struct {
	status  int
	code    int
	message string
}

// The Engine.IO error catalogue (codes as assigned by the reference server, plus a
// shutdown answer).
var (
	errUnknownTransport    = engineError{http.StatusBadRequest, 0, "Transport unknown"}
	errUnknownSID          = engineError{http.StatusBadRequest, 1, "Session ID unknown"}
	errBadHandshakeMethod  = engineError{http.StatusBadRequest, 2, "Bad handshake method"}
	errBadRequest          = engineError{http.StatusBadRequest, 3, "Bad request"}
	errForbidden           = engineError{http.StatusForbidden, 4, "Forbidden"}
	errUnsupportedProtocol = engineError{http.StatusBadRequest, 5, "Unsupported protocol version"}
	errPayloadTooLarge     = engineError{http.StatusRequestEntityTooLarge, 3, "Payload too large"}
	errShuttingDown        = engineError{http.StatusServiceUnavailable, 3, "Server shutting down"}
	errTooManyPending      = engineError{http.StatusTooManyRequests, 3, "Too many unauthenticated sessions"}
)

// writeEngineError sends an Engine.IO error answer.
func writeEngineError(w http.ResponseWriter, e engineError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_, _ = fmt.Fprintf(w, `{"code":%d,"message":%q}`, e.code, e.message)
}

// setCORSHeaders echoes an allowed Origin with credentials, as socket.io's cors option
// does; a literal "*" cannot be combined with credentials in browsers.
func setCORSHeaders(h http.Header, origin string) {
	h.Add("Vary", "Origin")
	if origin == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
}

// writePreflight answers a CORS preflight request.
func writePreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	}
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}
