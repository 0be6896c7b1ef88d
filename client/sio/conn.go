package sio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Disconnect reasons reported by Conn.Reason, named like socket.io-client's.
const (
	ReasonClientDisconnect = "io client disconnect"
	ReasonServerDisconnect = "io server disconnect"
	ReasonPingTimeout      = "ping timeout"
	ReasonTransportClose   = "transport close"
	ReasonTransportError   = "transport error"
	ReasonParseError       = "parse error"
	ReasonQueueOverflow    = "event queue overflow"
)

// Defaults of Options.
const (
	DefaultPath            = "/socket.io/"
	DefaultMaxQueuedEvents = 4096
	DefaultMaxMessageBytes = 4 << 20
	writeTimeout           = 10 * time.Second
)

// Options configures Dial. The zero value is usable.
type Options struct {
	// Path is the Engine.IO endpoint path, DefaultPath when empty and the URL has no path.
	Path string
	// Header is sent with the websocket handshake (e.g. Origin, cookies).
	Header http.Header
	// HTTPClient performs the websocket handshake (TLS settings); http.DefaultClient if nil.
	HTTPClient *http.Client
	// Auth is the CONNECT payload; it must encode to a JSON object. Nil sends plain "40".
	Auth any
	// MaxQueuedEvents bounds the events waiting for their handlers; on overflow the
	// connection is closed with ReasonQueueOverflow.
	MaxQueuedEvents int
	// MaxMessageBytes bounds incoming websocket messages.
	MaxMessageBytes int64
}

// Conn is a Socket.IO client connection on the default namespace over an Engine.IO v4
// websocket. Its methods are safe for concurrent use.
type Conn struct {
	ws        *websocket.Conn
	sid       string
	heartbeat time.Duration // longest silence tolerated: pingInterval + pingTimeout
	maxQueue  int

	mu       sync.Mutex
	nextID   int64
	acks     map[int64]chan []json.RawMessage
	handlers map[string][]func([]json.RawMessage)
	queue    []packet
	closed   bool
	reason   string

	wake        chan struct{}
	done        chan struct{}
	readDone    chan struct{}
	dispatched  chan struct{}
	dispatching atomic.Bool
	closing     atomic.Bool    // Close was called: whatever ends the connection now, the client did
	closer      sync.WaitGroup // the websocket close handshake
}

// Dial opens a websocket-only Engine.IO v4 session at rawURL (http, https, ws or wss; the
// path defaults to Options.Path) and connects the default namespace. ctx bounds the
// handshake only.
func Dial(ctx context.Context, rawURL string, opts Options) (*Conn, error) {
	u, err := WebSocketURL(rawURL, opts.Path)
	if err != nil {
		return nil, err
	}
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: opts.HTTPClient, HTTPHeader: opts.Header})
	if err != nil {
		return nil, fmt.Errorf("sio: dial %s: %w", u, err)
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = DefaultMaxMessageBytes
	}
	ws.SetReadLimit(opts.MaxMessageBytes)
	c := newConn(ws, opts)
	if err := c.handshake(ctx, opts.Auth); err != nil {
		_ = ws.CloseNow()
		return nil, err
	}
	go c.readLoop()
	go c.dispatchLoop()
	return c, nil
}

func newConn(ws *websocket.Conn, opts Options) *Conn {
	if opts.MaxQueuedEvents <= 0 {
		opts.MaxQueuedEvents = DefaultMaxQueuedEvents
	}
	return &Conn{
		ws: ws, maxQueue: opts.MaxQueuedEvents,
		acks: map[int64]chan []json.RawMessage{}, handlers: map[string][]func([]json.RawMessage){},
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		readDone: make(chan struct{}), dispatched: make(chan struct{}),
	}
}

// WebSocketURL turns a server URL into the Engine.IO v4 websocket endpoint: http → ws,
// https → wss, the path defaults to path (DefaultPath when empty), and the query gets
// EIO=4&transport=websocket.
func WebSocketURL(rawURL, path string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("sio: url %q: %w", rawURL, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("sio: url %q: unsupported scheme", rawURL)
	}
	if u.Host == "" {
		return "", fmt.Errorf("sio: url %q: no host", rawURL)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = path
		if u.Path == "" {
			u.Path = DefaultPath
		}
	}
	q := u.Query()
	q.Set("EIO", "4")
	q.Set("transport", "websocket")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// handshake reads the open packet, sends CONNECT and waits for its answer.
func (c *Conn) handshake(ctx context.Context, auth any) error {
	msg, err := c.read(ctx)
	if err != nil {
		return fmt.Errorf("sio: open packet: %w", err)
	}
	if msg == "" || msg[0] != engineOpen {
		return fmt.Errorf("%w: first packet %q", ErrHandshake, truncate(msg))
	}
	var info openInfo
	if err := json.Unmarshal([]byte(msg[1:]), &info); err != nil || info.SID == "" {
		return fmt.Errorf("%w: open packet %q", ErrHandshake, truncate(msg))
	}
	c.sid = info.SID
	if info.PingInterval > 0 && info.PingTimeout > 0 {
		c.heartbeat = time.Duration(info.PingInterval+info.PingTimeout) * time.Millisecond
	}
	connect, err := encodeConnect(auth)
	if err != nil {
		return err
	}
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(connect)); err != nil {
		return fmt.Errorf("sio: send connect: %w", err)
	}
	return c.awaitConnect(ctx)
}

// awaitConnect answers pings until the namespace CONNECT or CONNECT_ERROR arrives.
func (c *Conn) awaitConnect(ctx context.Context) error {
	for {
		msg, err := c.read(ctx)
		if err != nil {
			return fmt.Errorf("sio: connect: %w", err)
		}
		switch {
		case msg == string(enginePing):
			if err := c.ws.Write(ctx, websocket.MessageText, []byte{enginePong}); err != nil {
				return fmt.Errorf("sio: pong: %w", err)
			}
		case len(msg) > 1 && msg[0] == engineMessage:
			p, err := decodePacket(msg[1:])
			if err != nil {
				return fmt.Errorf("%w: %w", ErrHandshake, err)
			}
			if p.nsp != "" {
				continue
			}
			if p.typ == packetConnectError {
				return fmt.Errorf("%w: %s", ErrConnectRefused, connectError(p.data))
			}
			if p.typ == packetConnect {
				return nil
			}
		case msg == string(engineClose):
			return fmt.Errorf("%w: closed by server", ErrHandshake)
		}
	}
}

// read returns the next text message.
func (c *Conn) read(ctx context.Context) (string, error) {
	typ, b, err := c.ws.Read(ctx)
	if err != nil {
		return "", err
	}
	if typ != websocket.MessageText {
		return "", fmt.Errorf("%w: binary frame", ErrMalformed)
	}
	return string(b), nil
}

// SID returns the Engine.IO session id.
func (c *Conn) SID() string { return c.sid }

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Reason returns why the connection ended, or "" while it is open.
func (c *Conn) Reason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// On registers a handler for a server event. Handlers run one at a time, in arrival order,
// on the connection's dispatch goroutine; a slow handler delays later events but not
// acknowledgements or heartbeats.
func (c *Conn) On(event string, h func(args []json.RawMessage)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.handlers[event] = append(c.handlers[event], h)
}

// Emit sends an event with an acknowledgement id and waits for the server's ack, whose
// arguments it returns. ctx bounds the wait; ErrClosed is returned when the connection
// ends first.
func (c *Conn) Emit(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	ch := make(chan []json.RawMessage, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, fmt.Errorf("emit %q: %w", event, ErrClosed)
	}
	id := c.nextID
	c.nextID++
	c.acks[id] = ch
	c.mu.Unlock()
	defer c.dropAck(id)
	msg, err := encodeEvent(id, event, args)
	if err != nil {
		return nil, err
	}
	if err := c.write(msg); err != nil {
		return nil, fmt.Errorf("emit %q: %w", event, err)
	}
	select {
	case a := <-ch:
		return a, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("emit %q: %w", event, ctx.Err())
	case <-c.done:
		return nil, fmt.Errorf("emit %q: %w (%s)", event, ErrClosed, c.Reason())
	}
}

// Send sends an event without asking for an acknowledgement.
func (c *Conn) Send(event string, args ...any) error {
	msg, err := encodeEvent(-1, event, args)
	if err != nil {
		return err
	}
	if err := c.write(msg); err != nil {
		return fmt.Errorf("send %q: %w", event, err)
	}
	return nil
}

func (c *Conn) dropAck(id int64) {
	c.mu.Lock()
	delete(c.acks, id)
	c.mu.Unlock()
}

// write sends one text frame. The write is bounded by writeTimeout, not by a caller's
// context: the websocket library closes the connection when a write is interrupted.
func (c *Conn) write(msg string) error {
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		c.shutdown(ReasonTransportError)
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return nil
}

// Close disconnects the namespace ("41"), closes the websocket and waits for the
// connection's goroutines. Called from an event handler it does not wait for that handler
// to return. It is idempotent.
func (c *Conn) Close() error {
	// The server may close the connection as soon as it reads the DISCONNECT, before the
	// shutdown below: the read loop's error must not become the reason.
	c.closing.Store(true)
	_ = c.write(string([]byte{engineMessage, packetDisconnect}))
	c.shutdown(ReasonClientDisconnect)
	<-c.readDone
	c.closer.Wait()
	if !c.dispatching.Load() {
		<-c.dispatched
	}
	return nil
}

// shutdown records the reason, wakes every waiter and closes the websocket.
func (c *Conn) shutdown(reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	if c.closing.Load() {
		reason = ReasonClientDisconnect
	}
	c.reason = reason
	close(c.done)
	c.closer.Add(1) // under mu, so it happens before any Close's Wait
	c.mu.Unlock()
	go func() {
		defer c.closer.Done()
		// Close performs the close handshake (bounded by the library to 5 s each way);
		// CloseNow afterwards guarantees the read loop ends.
		_ = c.ws.Close(websocket.StatusNormalClosure, "")
		_ = c.ws.CloseNow()
	}()
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
