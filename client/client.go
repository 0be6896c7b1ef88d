package client

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/conclave-rtc/conclave/client/sio"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/pion/webrtc/v4"
)

// Defaults of Options.
const (
	DefaultSDKType    = "Go"
	DefaultSDKVersion = "1.0"
	ProtocolVersion   = "1.2"
)

// Options configures Join. The zero value works against a reachable portal.
type Options struct {
	// SDKType and SDKVersion go into login's userAgent.sdk. The portal only issues
	// reconnection tickets to the types Objective-C, C++, Android and JavaScript, so set
	// SDKType to one of those to test relogin.
	SDKType    string
	SDKVersion string

	// API builds the PeerConnections. When nil, one is made with the default codecs and
	// interceptors, LoopbackOnly and ConfigureSettings applied.
	API *webrtc.API
	// LoopbackOnly gathers only loopback ICE candidates (UDP4 on 127.0.0.1, no mDNS):
	// for tests and load runs on one machine.
	LoopbackOnly bool
	// ConfigureSettings adjusts the SettingEngine before the API is built (ignored with API).
	ConfigureSettings func(*webrtc.SettingEngine)
	// ICEServers are used by every PeerConnection. When empty, the ones the portal hands out
	// in the login answer (Conclave's iceServers extension: STUN/TURN with credentials) are,
	// unless LoopbackOnly.
	ICEServers []webrtc.ICEServer
	// ICETransportPolicy relay uses relayed (TURN) candidates only.
	ICETransportPolicy webrtc.ICETransportPolicy

	// Header and HTTPClient are used for the websocket handshake (e.g. TLS settings).
	Header     http.Header
	HTTPClient *http.Client

	// Events are installed before login, so no event after the login is missed.
	Events Events
	// Logger receives debug logs; discarded when nil.
	Logger *slog.Logger
}

// Events are callbacks for server notifications. They run one at a time on the
// signaling goroutine, so they must not block on further signaling of the same client.
type Events struct {
	Participant func(protocol.ParticipantEvent)
	Stream      func(protocol.StreamEvent)
	Text        func(protocol.TextEvent)
	// Chat receives the Conclave `chat` events (docs/chat.md).
	Chat func(protocol.ChatEvent)
	Drop func()
}

// JoinInfo is the login result.
type JoinInfo struct {
	ID                 string // participant id
	User               string
	Role               string
	Permission         protocol.Permission
	Room               protocol.RoomInfo
	ReconnectionTicket string             // empty when the server grants none
	ICEServers         []webrtc.ICEServer // handed out by the portal (empty when none)
	// Chat is the recent chat history the participant may see, oldest first (the login
	// answer's Conclave chat extension; empty when the server has none).
	Chat []protocol.ChatMessage
}

// loginResult is the wire shape of login's ack data.
type loginResult struct {
	ID                 string                `json:"id"`
	User               string                `json:"user"`
	Role               string                `json:"role"`
	Permission         protocol.Permission   `json:"permission"`
	Room               protocol.RoomInfo     `json:"room"`
	ReconnectionTicket string                `json:"reconnectionTicket"`
	ICEServers         []iceServer           `json:"iceServers"`
	Chat               *protocol.ChatHistory `json:"chat"`
}

// iceServer is one entry of the login answer's iceServers.
type iceServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username"`
	Credential string   `json:"credential"`
}

// Client is a participant connected to a conference. Its methods are safe for concurrent use.
type Client struct {
	opts  Options
	api   *webrtc.API
	token Token
	log   *slog.Logger

	mu           sync.Mutex
	conn         *sio.Conn
	id           string
	ticket       string
	iceServers   []webrtc.ICEServer // from the login answer
	streams      map[string]protocol.StreamInfo
	participants map[string]protocol.ParticipantInfo
	sessions     map[string]*session // by transport id
	handlers     handlers
	closed       bool
	cause        error
	done         chan struct{}
	closeOnce    sync.Once
}

// Join decodes token, connects to the portal it names and logs in with protocol 1.2.
// The returned Client must be closed with Leave or Close.
func Join(ctx context.Context, token string, opts Options) (*Client, *JoinInfo, error) {
	tok, err := DecodeToken(token)
	if err != nil {
		return nil, nil, err
	}
	c, err := newClient(tok, opts)
	if err != nil {
		return nil, nil, err
	}
	conn, err := sio.Dial(ctx, tok.URL(), sio.Options{Header: opts.Header, HTTPClient: opts.HTTPClient})
	if err != nil {
		return nil, nil, fmt.Errorf("client: connect %s: %w", tok.URL(), err)
	}
	c.conn = conn
	c.install(conn)
	info, err := c.login(ctx, token)
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	return c, info, nil
}

func newClient(tok Token, opts Options) (*Client, error) {
	if opts.SDKType == "" {
		opts.SDKType = DefaultSDKType
	}
	if opts.SDKVersion == "" {
		opts.SDKVersion = DefaultSDKVersion
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	api, err := buildAPI(opts)
	if err != nil {
		return nil, err
	}
	c := &Client{
		opts: opts, api: api, token: tok, log: log,
		streams: map[string]protocol.StreamInfo{}, participants: map[string]protocol.ParticipantInfo{},
		sessions: map[string]*session{}, done: make(chan struct{}),
	}
	c.handlers.add(opts.Events)
	return c, nil
}

func (c *Client) login(ctx context.Context, token string) (*JoinInfo, error) {
	req := map[string]any{
		"token":     token,
		"userAgent": map[string]any{"sdk": map[string]string{"type": c.opts.SDKType, "version": c.opts.SDKVersion}},
		"protocol":  ProtocolVersion,
	}
	data, err := c.request(ctx, "login", req)
	if err != nil {
		return nil, err
	}
	var res loginResult
	if err := json.Unmarshal(data, &res); err != nil || res.ID == "" {
		return nil, fmt.Errorf("%w: login result %.200s", ErrBadResponse, data)
	}
	ice := make([]webrtc.ICEServer, 0, len(res.ICEServers))
	for _, s := range res.ICEServers {
		ice = append(ice, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	c.mu.Lock()
	c.id, c.ticket, c.iceServers = res.ID, res.ReconnectionTicket, ice
	for _, s := range res.Room.Streams {
		c.streams[s.ID] = s
	}
	for _, p := range res.Room.Participants {
		c.participants[p.ID] = p
	}
	c.mu.Unlock()
	info := &JoinInfo{ID: res.ID, User: res.User, Role: res.Role, Permission: res.Permission,
		Room: res.Room, ReconnectionTicket: res.ReconnectionTicket, ICEServers: ice}
	if res.Chat != nil {
		info.Chat = res.Chat.Messages
	}
	return info, nil
}

// request emits a signaling request and interprets its ('ok', data) / ('error', msg) ack.
func (c *Client) request(ctx context.Context, name string, data any) (json.RawMessage, error) {
	c.mu.Lock()
	conn, closed := c.conn, c.closed
	c.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("client: %s: %w", name, ErrClosed)
	}
	var args []any
	if data != nil {
		args = append(args, data)
	}
	ack, err := conn.Emit(ctx, name, args...)
	if err != nil {
		return nil, fmt.Errorf("client: %s: %w", name, err)
	}
	return parseAck(name, ack)
}

// parseAck interprets an acknowledgement ("ok"/"success" with optional data, or "error"
// with a message).
func parseAck(name string, ack []json.RawMessage) (json.RawMessage, error) {
	var status string
	if len(ack) == 0 || json.Unmarshal(ack[0], &status) != nil {
		return nil, fmt.Errorf("%w: %s ack %s", ErrBadResponse, name, ack)
	}
	var data json.RawMessage
	if len(ack) > 1 {
		data = ack[1]
	}
	switch status {
	case "ok", "success":
		return data, nil
	case "error":
		var msg string
		if json.Unmarshal(data, &msg) != nil {
			msg = string(data)
		}
		return nil, &ServerError{Request: name, Message: msg}
	}
	return nil, fmt.Errorf("%w: %s ack status %q", ErrBadResponse, name, status)
}

// ID returns the participant id.
func (c *Client) ID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id
}

// Token returns the decoded join token.
func (c *Client) Token() Token { return c.token }

// ReconnectionTicket returns the latest reconnection ticket ("" when none was granted).
func (c *Client) ReconnectionTicket() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ticket
}

// Done is closed when the client has been closed (Leave, Close, or a server drop).
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the client closed (ErrClosed, ErrDropped, ErrDisconnected…), nil while open.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// SignalingDone is closed when the current signaling connection ends (e.g. the portal went
// away); the client stays usable for Relogin until it is closed.
func (c *Client) SignalingDone() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn.Done()
}

// Send sends a text message to a participant id or "all".
func (c *Client) Send(ctx context.Context, to, message string) error {
	_, err := c.request(ctx, "text", map[string]string{"to": to, "message": message})
	return err
}

// UpdateName sets the participant's display name (update-name, a Conclave extension):
// everyone gets a participant update.
func (c *Client) UpdateName(ctx context.Context, name string) error {
	_, err := c.request(ctx, "update-name", name)
	return err
}

// UpdateMediaState says whether the camera and microphone are on (update-mediaState, a
// Conclave extension; nil leaves one as it is): everyone gets a participant update, and the
// participant's own streams are muted or unmuted accordingly.
func (c *Client) UpdateMediaState(ctx context.Context, camera, microphone *bool) error {
	body := map[string]bool{}
	if camera != nil {
		body["cameraEnabled"] = *camera
	}
	if microphone != nil {
		body["microphoneEnabled"] = *microphone
	}
	_, err := c.request(ctx, "update-mediaState", body)
	return err
}

// StreamControl sends stream-control {id, operation, data} (pause/play, mix/unmix, get-region,
// set-region) and returns the ack's data.
func (c *Client) StreamControl(ctx context.Context, streamID, operation string, data any) (json.RawMessage, error) {
	return c.request(ctx, "stream-control", map[string]any{"id": streamID, "operation": operation, "data": data})
}

// Leave logs out (bounded by ctx) and closes the client. The logout error, if any, is
// returned after closing.
func (c *Client) Leave(ctx context.Context) error {
	_, err := c.request(ctx, "logout", nil)
	c.closeWith(ErrClosed)
	return err
}

// Close closes every publication and subscription and the signaling connection without
// logging out (the server sees a disconnect). It is idempotent.
func (c *Client) Close() error {
	c.closeWith(ErrClosed)
	return nil
}

func (c *Client) closeWith(cause error) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed, c.cause = true, cause
		sessions := make([]*session, 0, len(c.sessions))
		for _, s := range c.sessions {
			sessions = append(sessions, s)
		}
		conn := c.conn
		c.mu.Unlock()
		for _, s := range sessions {
			s.close(ErrSessionClosed)
		}
		if conn != nil {
			_ = conn.Close()
		}
		close(c.done)
	})
}
