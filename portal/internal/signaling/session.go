package signaling

import (
	"context"
	"encoding/json"
	"github.com/conclave-rtc/conclave/common/iceconfig"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/portal/internal/legacy"
	"github.com/conclave-rtc/conclave/portal/internal/rooms"
)

// Client → server request names (owt-protocol.md §4.6).
const (
	EvLogin               = "login"
	EvRelogin             = "relogin"
	EvRefreshTicket       = "refreshReconnectionTicket"
	EvLogout              = "logout"
	EvPublish             = "publish"
	EvUnpublish           = "unpublish"
	EvStreamControl       = "stream-control"
	EvSubscribe           = "subscribe"
	EvUnsubscribe         = "unsubscribe"
	EvSubscriptionControl = "subscription-control"
	EvSoac                = "soac"
	EvText                = "text"
)

// Events lists every request a Session handles.
func Events() []string {
	return append([]string{EvLogin, EvRelogin, EvRefreshTicket, EvLogout, EvPublish, EvUnpublish,
		EvStreamControl, EvSubscribe, EvUnsubscribe, EvSubscriptionControl, EvSoac, EvText,
		EvUpdateName, EvUpdateMediaState}, chatEvents...)
}

// Ack answers a request; nil when the client asked for no answer.
type Ack func(args ...any) error

// Session is the signaling state of one socket. Its Handle and Disconnected methods must be
// called sequentially (the socketio server runs a socket's handlers on one goroutine).
type Session struct {
	hub  *Hub
	sock Socket

	inService atomic.Bool // login or relogin accepted (OWT state != initialized)
	client    *Client     // the participant this socket serves; handler goroutine only
	idleMu    sync.Mutex
	idle      *time.Timer
}

// Attach starts the signaling of a new socket: it is closed if it does not log in within
// the idle timeout.
func (h *Hub) Attach(sock Socket) *Session {
	s := &Session{hub: h, sock: sock}
	s.idleMu.Lock()
	s.idle = time.AfterFunc(h.cfg.IdleTimeout, func() {
		if !s.inService.Load() {
			sock.Disconnect()
		}
	})
	s.idleMu.Unlock()
	return s
}

// handlers maps request names to session methods.
func (s *Session) handler(event string) func(json.RawMessage, Ack) {
	switch event {
	case EvLogin:
		return s.login
	case EvRelogin:
		return s.relogin
	case EvRefreshTicket:
		return s.refreshTicket
	case EvLogout:
		return s.logout
	}
	op := s.operation(event)
	if op == nil {
		return nil
	}
	return func(raw json.RawMessage, ack Ack) {
		c := s.client
		if c == nil || !c.isCurrent(s.sock) {
			_ = ack("error", MsgIllegal)
			return
		}
		op(c, raw, ack)
	}
}

// Handle runs one request. args are the event's JSON arguments; only the first is the
// request data (native SDKs add trailing nulls). A nil ack is replaced by a no-op.
func (s *Session) Handle(event string, args []json.RawMessage, ack Ack) {
	if ack == nil {
		ack = func(...any) error { return nil }
	}
	var raw json.RawMessage
	if len(args) > 0 {
		raw = args[0]
	}
	if h := s.handler(event); h != nil {
		h(raw, ack)
	}
}

// Disconnected handles the socket's close.
func (s *Session) Disconnected(string) {
	s.idleMu.Lock()
	s.idle.Stop()
	s.idleMu.Unlock()
	if c := s.client; c != nil {
		s.hub.socketGone(c, s.sock)
	}
}

// fail answers an error and closes the socket (failed login or relogin).
func (s *Session) fail(ack Ack, msg string) {
	_ = ack("error", msg)
	s.sock.Disconnect()
}

// loginResult is the `login` answer (LoginResult).
type loginResult struct {
	User               string              `json:"user"`
	Role               string              `json:"role"`
	Permission         protocol.Permission `json:"permission"`
	Room               roomResult          `json:"room"`
	ID                 string              `json:"id"`
	ReconnectionTicket string              `json:"reconnectionTicket,omitempty"`
	// ICEServers is a Conclave extension (OWT SDKs ignore it): the STUN/TURN servers with
	// credentials for this user, for the client's RTCPeerConnection configuration.
	ICEServers []iceconfig.Server `json:"iceServers,omitempty"`
	// Chat is a Conclave extension (OWT SDKs ignore it): the recent chat history the
	// participant may see (docs/chat.md).
	Chat *protocol.ChatHistory `json:"chat,omitempty"`
}

// roomResult is the room of a login answer, its streams in the client's protocol form.
type roomResult struct {
	ID           string                     `json:"id"`
	Views        []string                   `json:"views"`
	Participants []protocol.ParticipantInfo `json:"participants"`
	Streams      any                        `json:"streams"`
}

// login handles `login`: validate, consume the token, join the room.
func (s *Session) login(raw json.RawMessage, ack Ack) {
	if s.inService.Load() {
		_ = ack("error", MsgInService)
		return
	}
	s.inService.Store(true)
	l, err := DecodeLogin(raw)
	if err != nil {
		s.fail(ack, err.Error())
		return
	}
	tok, err := s.hub.auth.consume(context.Background(), l.Token)
	if err != nil {
		s.fail(ack, err.Error())
		return
	}
	c, res, err := s.join(l, tok)
	if err != nil {
		s.fail(ack, err.Error())
		return
	}
	s.client = c
	result := s.loginResult(c, tok, res)
	if _, ok := c.connect(s.sock, func() { _ = ack("ok", result) }); !ok {
		s.fail(ack, "Participant early left")
		return
	}
	s.sock.Authenticate()
}

// join registers the client and joins its room.
func (s *Session) join(l Login, tok store.Token) (*Client, protocol.JoinResult, error) {
	c := &Client{
		id: s.sock.ID(), roomID: tok.RoomID, protocol: l.Protocol, user: tok.User, role: tok.Role,
		reconnect: l.Reconnection, limit: s.hub.cfg.PendingLimit, sock: s.sock, state: stateConnecting,
	}
	if !s.hub.register(c) {
		return nil, protocol.JoinResult{}, Failure("Participant already in room")
	}
	req := protocol.JoinRequest{RoomID: tok.RoomID, Participant: protocol.Joiner{
		ID: c.id, User: tok.User, Role: tok.Role, Portal: s.hub.cfg.PortalID,
		Origin: tok.Origin, Protocol: l.Protocol,
	}}
	agent, res, err := s.hub.conf.Join(context.Background(), req, tok.Origin)
	if err != nil {
		s.hub.unregister(c)
		return nil, protocol.JoinResult{}, Failure(rooms.Message(err))
	}
	c.setAgent(agent, time.Now())
	c.trackStreams(res.Room.Streams)
	return c, res, nil
}

// loginResult builds the login answer in the client's protocol form.
func (s *Session) loginResult(c *Client, tok store.Token, res protocol.JoinResult) loginResult {
	r := loginResult{
		User: tok.User, Role: tok.Role, Permission: res.Permission, ID: c.id, Chat: res.Chat,
		Room: roomResult{
			ID: res.Room.ID, Views: res.Room.Views, Participants: res.Room.Participants,
			Streams: legacy.Streams(c.protocol, res.Room.Streams),
		},
	}
	if r.Room.ID == "" {
		r.Room.ID = tok.RoomID
	}
	if r.Room.Views == nil {
		r.Room.Views = []string{}
	}
	if r.Room.Participants == nil {
		r.Room.Participants = []protocol.ParticipantInfo{}
	}
	if c.reconnect {
		r.ReconnectionTicket = s.hub.newTicket(c)
	}
	if servers, _ := s.hub.cfg.ICEServers.Servers(tok.User, time.Now()); len(servers) > 0 {
		r.ICEServers = servers
	}
	return r
}

// relogin handles `relogin`: take over a participant awaiting reconnection. The answer is
// the plain new ticket for every protocol version (JS SDK 5.1 expects a string; see
// README), followed by the messages queued while the client was away.
func (s *Session) relogin(raw json.RawMessage, ack Ack) {
	if s.inService.Load() {
		_ = ack("error", MsgInService)
		return
	}
	var encoded string
	if err := json.Unmarshal(raw, &encoded); err != nil {
		s.fail(ack, MsgIllegal)
		return
	}
	tk, err := s.hub.tickets.Check(encoded, time.Now())
	if err != nil {
		s.fail(ack, err.Error())
		return
	}
	c := s.hub.lookup(tk.ParticipantID)
	if c == nil {
		s.fail(ack, MsgNoClient)
		return
	}
	if !c.reconnect || c.id != tk.ParticipantID {
		msg := MsgNotAllowed
		if c.reconnect {
			msg = MsgNotMatched
		}
		s.hub.forceLeave(c)
		s.fail(ack, msg)
		return
	}
	if !c.redeem(tk.Signature) {
		s.fail(ack, MsgTicketExpired)
		return
	}
	s.inService.Store(true)
	ticket := s.hub.newTicket(c)
	old, ok := c.connect(s.sock, func() { _ = ack("ok", ticket) })
	if !ok {
		s.fail(ack, MsgNoClient)
		return
	}
	s.client = c
	s.sock.Authenticate()
	if old != nil && old != s.sock {
		old.Disconnect()
	}
}

// forceLeave ends a participant after a refused relogin.
func (h *Hub) forceLeave(c *Client) {
	if _, _, ok := c.finish(); ok {
		h.unregister(c)
		h.leave(c)
	}
}

// newTicket issues c's next reconnection ticket, revoking the previous one. Each ticket of a
// participant expires at least 1 ms after the previous, so no two share a signature.
func (h *Hub) newTicket(c *Client) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	encoded, tk := h.tickets.Issue(c.id, time.Now(), c.ticketAt+1)
	c.ticketAt, c.ticket = tk.NotAfter, tk.Signature
	return encoded
}

// refreshTicket handles `refreshReconnectionTicket`: a new ticket, the previous one revoked.
func (s *Session) refreshTicket(_ json.RawMessage, ack Ack) {
	c := s.client
	if c == nil || !c.isCurrent(s.sock) {
		_ = ack("error", MsgIllegal)
		return
	}
	if !c.reconnect {
		_ = ack("error", MsgNotEnabled)
		return
	}
	_ = ack("ok", s.hub.newTicket(c))
}

// logout handles `logout`: leave the room; the socket may log in again.
func (s *Session) logout(_ json.RawMessage, ack Ack) {
	c := s.client
	if c == nil || !c.isCurrent(s.sock) {
		_ = ack("error", MsgIllegal)
		return
	}
	s.client = nil
	s.inService.Store(false)
	if _, _, ok := c.finish(); ok {
		s.hub.unregister(c)
		s.hub.leave(c)
	}
	// A logged-out socket is idle again: it must log in anew within the idle timeout.
	s.idleMu.Lock()
	s.idle.Reset(s.hub.cfg.IdleTimeout)
	s.idleMu.Unlock()
	_ = ack("ok")
}
