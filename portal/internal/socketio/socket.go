package socketio

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// inboxSize bounds the events waiting for a socket's handler goroutine; a full inbox
// blocks the connection's reader, which applies back-pressure to the client.
const inboxSize = 64

// EventHandler handles one client event. args are the raw JSON arguments after the event
// name, passed through untouched (including trailing nulls that some clients add). ack
// is nil when the client did not request an acknowledgement; otherwise it sends the
// acknowledgement with the given arguments and may be called once, from any goroutine.
type EventHandler func(args []json.RawMessage, ack AckFunc)

// AckFunc answers an event's acknowledgement request ("43<id>[args...]"). Each argument
// is encoded with encoding/json (json.RawMessage passes through). It returns
// ErrAckAlreadySent on a second call and ErrClosed after the socket closed.
type AckFunc func(args ...any) error

// Socket is a client connected to the default namespace "/". Its event and disconnect
// handlers run sequentially on one goroutine owned by the socket, in arrival order, so
// a handler that blocks delays later events of the same socket (but not the heartbeat).
// Emit, Disconnect and acknowledgement functions are safe for concurrent use.
type Socket struct {
	c       *conn
	auth    json.RawMessage
	inbox   chan inboundEvent
	limiter *rateLimiter

	mu           sync.Mutex
	handlers     map[string]EventHandler
	onDisconnect []func(reason string)
}

// inboundEvent is an event waiting for its handler.
type inboundEvent struct {
	name   string
	args   []json.RawMessage
	hasAck bool
	ackID  int64
}

func newSocket(c *conn, auth json.RawMessage) *Socket {
	return &Socket{
		c: c, auth: auth, inbox: make(chan inboundEvent, inboxSize),
		limiter:  newRateLimiter(c.cfg.MaxEventsPerSecond, c.cfg.EventBurst, time.Now()),
		handlers: make(map[string]EventHandler),
	}
}

// ID returns the socket id: 20 URL-safe random characters, distinct from the Engine.IO
// session id (which authorises polling requests and so is never exposed).
func (s *Socket) ID() string { return s.c.socketID }

// Protocol returns the Engine.IO protocol version of the client: 3 (socket.io-client
// 2.x) or 4 (socket.io-client 3.x/4.x).
func (s *Socket) Protocol() int { return s.c.protocol }

// RemoteAddr returns the network address of the handshake request.
func (s *Socket) RemoteAddr() string { return s.c.remoteAddr }

// Request returns a body-less copy of the handshake request (URL, query, headers).
// Callers must not modify it.
func (s *Socket) Request() *http.Request { return s.c.req }

// Auth returns the payload of a v4 client's namespace CONNECT packet (socket.io's auth
// option), or nil.
func (s *Socket) Auth() json.RawMessage { return s.auth }

// Transport returns the current transport name: "polling" or "websocket".
func (s *Socket) Transport() string {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.c.transport.String()
}

// On registers the handler of an event, replacing any previous one. Events without a
// handler are ignored (their acknowledgement, if requested, is never sent). Register
// handlers in the OnConnection callback: events are dispatched only after it returns.
func (s *Socket) On(event string, h EventHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[event] = h
}

// OnDisconnect registers a function called once, on the socket's handler goroutine,
// after the socket closed, with a reason such as "client namespace disconnect",
// "transport close", "ping timeout" or "server namespace disconnect".
func (s *Socket) OnDisconnect(f func(reason string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onDisconnect = append(s.onDisconnect, f)
}

// Emit sends an event with JSON-encoded arguments. It never blocks: packets go to a
// bounded queue and a socket whose queue overflows is closed (ErrSendQueueFull).
func (s *Socket) Emit(event string, args ...any) error {
	if reservedEvent(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	data, err := marshalArgs([]any{event}, args)
	if err != nil {
		return err
	}
	return s.c.sendMessage(encodeSocketPacket(socketPacket{typ: sioEvent, data: data}))
}

// Disconnect sends a namespace DISCONNECT ("41": the client will not reconnect on its
// own) after everything queued before it, and ends the session when the client closes its
// transport, or after DisconnectLinger (conn.linger). Disconnect handlers then get
// "server namespace disconnect".
func (s *Socket) Disconnect() {
	_ = s.c.sendMessage(encodeSocketPacket(socketPacket{typ: sioDisconnect}))
	s.c.linger(reasonServerDisconnect)
}

// Authenticate marks the session as authenticated (for the portal: logged in): it no longer
// counts against MaxPendingPerAddress and MaxPending.
func (s *Socket) Authenticate() { s.c.srv.authenticated(s.c) }

// reservedEvent reports the event names socket.io reserves for its own use.
func reservedEvent(name string) bool {
	switch name {
	case "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener":
		return true
	}
	return false
}

// receive applies the rate limit to an event and queues it for the handler goroutine;
// it blocks while the inbox is full, until the connection closes.
func (s *Socket) receive(p socketPacket) {
	switch s.limiter.offer(time.Now()) {
	case rateDrop:
		s.c.log.Debug("socket.io event dropped by rate limit", "event", p.event)
		return
	case rateAbuse:
		s.c.log.Warn("socket.io event flood, closing")
		s.c.close(reasonRateLimit, false)
		return
	}
	ev := inboundEvent{name: p.event, args: p.args, hasAck: p.hasID, ackID: p.id}
	select {
	case s.inbox <- ev:
	case <-s.c.ctx.Done():
	}
}

// run is the socket's handler goroutine: the connection callback, then events in
// order, then the disconnect handlers once the connection closed.
func (s *Socket) run(onConnection func(*Socket)) {
	if onConnection != nil {
		s.protect("connection", func() { onConnection(s) })
	}
	for {
		select {
		case ev := <-s.inbox:
			s.dispatch(ev)
		case <-s.c.ctx.Done():
			s.drain()
			s.fireDisconnect()
			return
		}
	}
}

// drain runs the events received before the connection closed.
func (s *Socket) drain() {
	for {
		select {
		case ev := <-s.inbox:
			s.dispatch(ev)
		default:
			return
		}
	}
}

// dispatch runs the handler of one event.
func (s *Socket) dispatch(ev inboundEvent) {
	s.mu.Lock()
	h := s.handlers[ev.name]
	s.mu.Unlock()
	if h == nil {
		return
	}
	var ack AckFunc
	if ev.hasAck {
		ack = s.ackFunc(ev.ackID)
	}
	s.protect(ev.name, func() { h(ev.args, ack) })
}

// ackFunc returns the one-shot acknowledgement sender for an ack id.
func (s *Socket) ackFunc(id int64) AckFunc {
	var sent atomic.Bool
	return func(args ...any) error {
		data, err := marshalArgs(nil, args)
		if err != nil {
			return err
		}
		if !sent.CompareAndSwap(false, true) {
			return ErrAckAlreadySent
		}
		return s.c.sendMessage(encodeSocketPacket(socketPacket{typ: sioAck, hasID: true, id: id, data: data}))
	}
}

// fireDisconnect calls the disconnect handlers.
func (s *Socket) fireDisconnect() {
	s.mu.Lock()
	fs := s.onDisconnect
	s.mu.Unlock()
	reason := s.c.reason()
	for _, f := range fs {
		s.protect("disconnect", func() { f(reason) })
	}
}

// protect runs a user callback; a panic is logged and closes the socket instead of
// crashing the process.
func (s *Socket) protect(what string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			s.c.log.Error("socket.io handler panicked", "handler", what, "panic", r,
				slog.String("stack", string(debug.Stack())))
			s.c.close(reasonHandlerPanic, false)
		}
	}()
	f()
}
