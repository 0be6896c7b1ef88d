package signaling

import (
	"crypto/hmac"
	"encoding/json"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/portal/internal/legacy"
)

// Socket is the client connection a Client talks through (*socketio.Socket).
type Socket interface {
	ID() string
	Emit(event string, args ...any) error
	Disconnect()
	// Authenticate tells the transport the participant logged in: the session no longer
	// counts against the limits on unauthenticated sessions.
	Authenticate()
}

// state is a participant's connection state (OWT socketIOServer.js Connection).
type state int

const (
	stateConnecting state = iota // login sent, join in progress: messages are queued
	stateConnected               // messages are emitted
	stateWaiting                 // socket lost, waiting for a relogin: messages are queued
	stateGone                    // left or dropped
)

// message is a client event waiting to be emitted.
type message struct {
	event string
	data  json.RawMessage
}

// Client is one participant held by this portal: it outlives its socket while a relogin
// is awaited.
type Client struct {
	id        string // participant id: the login socket's id
	roomID    string
	protocol  string
	user      string
	role      string
	reconnect bool

	mu      sync.Mutex
	agent   string    // the conference agent that owns the room, set by the join
	joined  time.Time // when the join succeeded
	state   state
	sock    Socket
	pending []message
	limit   int
	timer   *time.Timer
	rids    map[string]map[string]string // legacy clients: stream id → rid → track id
	// ticket is the signature of the one reconnection ticket that may relogin now: the
	// newest issued (login, refresh or relogin). Redeeming it clears it, and issuing a new
	// one revokes the previous, so a ticket reconnects once and a copy of an older ticket
	// seen elsewhere cannot take over the participant.
	ticket string
	// ticketAt is the notAfter (ms) of the newest ticket: each new ticket expires later, so
	// no two of a participant's tickets share a signature.
	ticketAt int64
}

// redeem uses the ticket with signature sig for a relogin; false unless it is the newest
// ticket issued and not used yet.
func (c *Client) redeem(sig string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sig == "" || !hmac.Equal([]byte(sig), []byte(c.ticket)) {
		return false
	}
	c.ticket = ""
	return true
}

// ID returns the participant id.
func (c *Client) ID() string { return c.id }

// setAgent records the room's conference agent after a successful join.
func (c *Client) setAgent(agent string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.agent, c.joined = agent, at
}

// agentInfo returns the room's conference agent ("" before the join) and the join time.
func (c *Client) agentInfo() (string, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.agent, c.joined
}

// isCurrent reports whether sock is the client's connected socket.
func (c *Client) isCurrent(sock Socket) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == stateConnected && c.sock == sock
}

// send emits an event now when connected, or queues it (bounded: the oldest is dropped).
func (c *Client) send(event string, data json.RawMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.state {
	case stateConnected:
		c.emit(message{event, data})
	case stateConnecting, stateWaiting:
		if len(c.pending) >= c.limit {
			c.pending = c.pending[1:]
		}
		c.pending = append(c.pending, message{event, data})
	}
}

// emit writes one message to the socket; c.mu is held.
func (c *Client) emit(m message) {
	if m.data == nil {
		_ = c.sock.Emit(m.event)
		return
	}
	_ = c.sock.Emit(m.event, m.data)
}

// connect answers the login or relogin through answer and then flushes the queue, all
// under the lock so no event overtakes the answer. It fails when the client is gone.
func (c *Client) connect(sock Socket, answer func()) (old Socket, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateGone {
		return nil, false
	}
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	old, c.sock, c.state = c.sock, sock, stateConnected
	answer()
	for _, m := range c.pending {
		c.emit(m)
	}
	c.pending = nil
	return old, true
}

// detach handles the loss of sock: it starts the reconnection wait (true) or marks the
// client gone (false, the caller leaves). Nothing happens (ok false) if sock is not the
// client's socket any more.
func (c *Client) detach(sock Socket, canWait bool, grace time.Duration, expire func()) (waiting, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sock != sock || c.state == stateGone || c.state == stateWaiting {
		return false, false
	}
	if c.state == stateConnected && c.reconnect && canWait {
		c.state = stateWaiting
		c.timer = time.AfterFunc(grace, expire)
		return true, true
	}
	c.state = stateGone
	return false, true
}

// expire ends a reconnection wait that no relogin interrupted.
func (c *Client) expire() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateWaiting {
		return false
	}
	c.state, c.timer = stateGone, nil
	return true
}

// finish marks the client gone and returns its socket if it was connected (for drop).
func (c *Client) finish() (sock Socket, wasConnected, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateGone {
		return nil, false, false
	}
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	wasConnected = c.state == stateConnected
	c.state, c.pending = stateGone, nil
	return c.sock, wasConnected, true
}

// dropNow emits `drop` and closes the socket of a finishing client.
func (c *Client) dropNow() bool {
	sock, connected, ok := c.finish()
	if !ok {
		return false
	}
	if connected && sock != nil {
		_ = sock.Emit(protocol.EventDrop)
		sock.Disconnect()
	}
	return true
}

// trackStreams keeps the simulcast rids of the room's streams for legacy subscriptions.
func (c *Client) trackStreams(streams []protocol.StreamInfo) {
	if !legacy.IsLegacy(c.protocol) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range streams {
		c.setRidsLocked(s.ID, legacy.Rids(s))
	}
}

// setRidsLocked records (or forgets, for nil) a stream's rids; c.mu is held.
func (c *Client) setRidsLocked(id string, rids map[string]string) {
	if rids == nil {
		delete(c.rids, id)
		return
	}
	if c.rids == nil {
		c.rids = map[string]map[string]string{}
	}
	c.rids[id] = rids
}

// observeStream updates the rid map from a `stream` event (legacy clients only).
func (c *Client) observeStream(data json.RawMessage) {
	if !legacy.IsLegacy(c.protocol) {
		return
	}
	ch, ok := legacy.ParseStreamChange(data)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch.Removed {
		c.setRidsLocked(ch.ID, nil)
		return
	}
	c.setRidsLocked(ch.ID, legacy.Rids(*ch.Info))
}

// resolveRid implements legacy.RidResolver.
func (c *Client) resolveRid(streamID, rid string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.rids[streamID][rid]
	return id, ok
}
