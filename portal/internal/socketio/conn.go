package socketio

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// transportKind is the transport currently carrying an Engine.IO session.
type transportKind int

const (
	transportPolling transportKind = iota
	transportWebSocket
)

// String returns the Engine.IO transport name.
func (t transportKind) String() string {
	if t == transportWebSocket {
		return "websocket"
	}
	return "polling"
}

// Close reasons reported to OnDisconnect handlers; they follow socket.io's wording.
const (
	reasonTransportClose   = "transport close"
	reasonTransportError   = "transport error"
	reasonPingTimeout      = "ping timeout"
	reasonParseError       = "parse error"
	reasonClientDisconnect = "client namespace disconnect"
	reasonServerDisconnect = "server namespace disconnect"
	reasonServerShutdown   = "server shutting down"
	reasonConnectTimeout   = "connect timeout"
	reasonMessageTooBig    = "message too big"
	reasonQueueOverflow    = "send queue overflow"
	reasonRateLimit        = "rate limit exceeded"
	reasonPollOverlap      = "poll overlap"
	reasonHandlerPanic     = "handler panic"
)

// conn is one Engine.IO session. Readers (polling POST handlers or the websocket read
// loop) feed it packets; the outbox is drained by whichever transport is active (a
// long-poll GET or the websocket write loop). It carries at most one Socket, on the
// default namespace.
type conn struct {
	srv        *Server
	cfg        *Config
	log        *slog.Logger
	sid        string
	socketID   string
	protocol   int
	req        *http.Request
	remoteAddr string

	// ctx is the session lifetime: cancelled exactly once by close.
	ctx    context.Context
	cancel context.CancelFunc
	// wake (capacity 1) tells the active transport that the outbox or state changed.
	wake chan struct{}
	// pong (capacity 1) signals a v4 pong; activity (capacity 1) any v3 client packet.
	pong     chan struct{}
	activity chan struct{}

	mu           sync.Mutex
	closed       bool
	closeReason  string
	outbox       []string
	transport    transportKind
	upgrading    bool
	probed       bool
	pollActive   bool
	postActive   bool
	sock         *Socket
	connectTimer *time.Timer
	pendingAddr  string // counted as an unauthenticated session of this address (Server.mu)
	// lingering: the server disconnected the socket (Socket.Disconnect) and waits for the
	// client to close the transport; lingerReason is then the close reason whatever ends
	// the session, and lingerTimer cuts it after DisconnectLinger.
	lingering    bool
	lingerReason string
	lingerTimer  *time.Timer
}

// newConn allocates a session for a handshake request; it starts nothing.
func newConn(srv *Server, protocol int, transport transportKind, r *http.Request) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	req := r.Clone(context.Background())
	req.Body = http.NoBody
	c := &conn{
		srv: srv, cfg: &srv.cfg, sid: newID(), socketID: newID(), protocol: protocol,
		req: req, remoteAddr: r.RemoteAddr, ctx: ctx, cancel: cancel,
		wake: make(chan struct{}, 1), pong: make(chan struct{}, 1), activity: make(chan struct{}, 1),
		transport: transport,
	}
	c.log = srv.log.With("socket", c.socketID, "remote", c.remoteAddr, "eio", protocol)
	return c
}

// handshakeInfo is the JSON body of the Engine.IO open packet.
type handshakeInfo struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload,omitempty"`
}

// openPacket renders the Engine.IO open packet for this session.
func (c *conn) openPacket() string {
	info := handshakeInfo{
		SID: c.sid, Upgrades: []string{},
		PingInterval: c.cfg.PingInterval.Milliseconds(), PingTimeout: c.cfg.PingTimeout.Milliseconds(),
	}
	if c.transport == transportPolling {
		info.Upgrades = []string{"websocket"}
	}
	if c.protocol == protocolV4 {
		info.MaxPayload = c.cfg.MaxPollingBodyBytes
	}
	data, _ := json.Marshal(info) // cannot fail: strings and numbers only
	return encodeEnginePacket(engineOpen, string(data))
}

// start queues the open packet and starts the heartbeat; v3 sessions are connected to
// the default namespace at once, v4 sessions get ConnectTimeout to send "40".
func (c *conn) start() {
	c.mu.Lock()
	c.outbox = append(c.outbox, c.openPacket())
	c.mu.Unlock()
	signal(c.wake)
	if !c.srv.spawn(c.runHeartbeat) {
		c.close(reasonServerShutdown, false)
		return
	}
	if c.protocol == protocolV3 {
		c.connectSocket(nil)
		return
	}
	c.mu.Lock()
	if c.sock == nil && !c.closed {
		c.connectTimer = time.AfterFunc(c.cfg.ConnectTimeout, c.onConnectTimeout)
	}
	c.mu.Unlock()
}

// onConnectTimeout closes a v4 session that never joined the default namespace.
func (c *conn) onConnectTimeout() {
	c.mu.Lock()
	joined := c.sock != nil
	c.mu.Unlock()
	if !joined {
		c.close(reasonConnectTimeout, false)
	}
}

// signal makes a non-blocking send on a capacity-1 notification channel.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// send queues one Engine.IO packet. It never blocks: when the outbox is full the
// session is closed and ErrSendQueueFull returned.
func (c *conn) send(packet string) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if len(c.outbox) >= c.cfg.SendQueueSize {
		c.mu.Unlock()
		c.log.Warn("socket.io send queue overflow, closing")
		c.close(reasonQueueOverflow, false)
		return ErrSendQueueFull
	}
	c.outbox = append(c.outbox, packet)
	c.mu.Unlock()
	signal(c.wake)
	return nil
}

// sendMessage queues a Socket.IO packet inside an Engine.IO message packet.
func (c *conn) sendMessage(socketPacket string) error {
	return c.send(encodeEnginePacket(engineMessage, socketPacket))
}

// takeOutbox removes and returns all queued packets.
func (c *conn) takeOutbox() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.outbox
	c.outbox = nil
	return out
}

// isClosed reports whether close has been called.
func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// reason returns the close reason ("" while open).
func (c *conn) reason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeReason
}

// linger ends the session the way a server-side socket.io disconnect must: the packets
// already queued (an acknowledgement, then the DISCONNECT) go out alone, and the client,
// once it has processed them, closes the transport itself. Closing at once would put the
// Engine.IO close right behind them, and socket.io-client 3/4, which hands decoded
// packets to the socket a tick later, drops an acknowledgement that arrives after its
// transport closed: the "silent login failure". A client that does not close is cut after
// DisconnectLinger. Events it sends meanwhile are ignored.
func (c *conn) linger(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.lingering {
		return
	}
	c.lingering, c.lingerReason = true, reason
	c.lingerTimer = time.AfterFunc(c.cfg.DisconnectLinger, func() { c.close(reason, true) })
}

// isLingering reports whether the server disconnected the socket (see linger).
func (c *conn) isLingering() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lingering
}

// close ends the session once. Queued packets are still delivered: the websocket write
// loop flushes them before closing, a pending long-poll GET returns them followed by a
// close packet. With flush set, a polling session without a pending GET stays
// addressable for PingTimeout so that the client's next GET can collect them.
func (c *conn) close(reason string, flush bool) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	if c.lingering { // the server's disconnect is why the session ends
		reason, flush = c.lingerReason, true
		c.lingerTimer.Stop()
	}
	c.closeReason = reason
	keep := flush && c.transport == transportPolling && !c.pollActive && len(c.outbox) > 0
	if c.connectTimer != nil {
		c.connectTimer.Stop()
	}
	c.mu.Unlock()
	c.cancel()
	c.log.Debug("socket.io session closed", "reason", reason)
	c.srv.authenticated(c) // a closed session no longer holds an unauthenticated slot
	if keep {
		time.AfterFunc(c.cfg.PingTimeout, func() { c.srv.forget(c) })
		return
	}
	c.srv.forget(c)
}

// handlePacket processes one packet from the client and reports whether the session
// is still open.
func (c *conn) handlePacket(p enginePacket) bool {
	if len(p.data)+1 > c.cfg.MaxMessageBytes {
		c.log.Warn("socket.io packet too large, closing", "bytes", len(p.data)+1)
		c.close(reasonMessageTooBig, false)
		return false
	}
	signal(c.activity)
	switch p.typ {
	case enginePing:
		_ = c.send(encodeEnginePacket(enginePong, p.data))
	case enginePong:
		signal(c.pong)
	case engineMessage:
		c.onMessage(p.data)
	case engineClose:
		c.close(reasonTransportClose, false)
	case engineNoop:
	default:
		c.close(reasonParseError, false)
	}
	return !c.isClosed()
}

// runHeartbeat supervises liveness until the session ends.
func (c *conn) runHeartbeat() {
	if c.protocol == protocolV3 {
		c.watchClientPings()
		return
	}
	c.pingLoop()
}

// pingLoop implements the Engine.IO v4 heartbeat: the server pings every PingInterval
// and closes the session when no pong arrives within PingTimeout.
func (c *conn) pingLoop() {
	t := time.NewTimer(c.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		select {
		case <-c.pong: // discard a stale, unsolicited pong
		default:
		}
		if c.send(encodeEnginePacket(enginePing, "")) != nil {
			return
		}
		t.Reset(c.cfg.PingTimeout)
		select {
		case <-c.ctx.Done():
			return
		case <-c.pong:
			t.Reset(c.cfg.PingInterval)
		case <-t.C:
			c.close(reasonPingTimeout, false)
			return
		}
	}
}

// watchClientPings implements the Engine.IO v3 heartbeat: the client pings, and the
// session closes after PingInterval+PingTimeout without any packet from it.
func (c *conn) watchClientPings() {
	d := c.cfg.PingInterval + c.cfg.PingTimeout
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.activity:
			t.Reset(d)
		case <-t.C:
			c.close(reasonPingTimeout, false)
			return
		}
	}
}
