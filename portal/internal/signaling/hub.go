// Package signaling is the portal's per-client OWT signaling (owt-protocol.md §4): one
// Session per socket runs the connection state machine (login, relogin, logout, the
// request handlers and their acknowledgements) and one Client per participant keeps the
// room membership, the reconnection grace and the queue of messages a disconnected client
// will get after its relogin. The Hub holds the clients, delivers the conference agents'
// notices to them and drops the clients of agents that died.
package signaling

import (
	"context"
	"fmt"
	"github.com/conclave-rtc/conclave/common/iceconfig"
	"log/slog"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/portal/internal/legacy"
)

// Conference reaches rooms' conference agents (package rooms).
type Conference interface {
	Join(ctx context.Context, req protocol.JoinRequest, pref store.Preference) (string, protocol.JoinResult, error)
	Call(ctx context.Context, agent, method string, req, resp any) error
}

// Config tunes a Hub. Zero durations and sizes take the defaults of DefaultConfig.
type Config struct {
	PortalID       string        // this portal's worker id (Joiner.Portal)
	IdleTimeout    time.Duration // a socket not logged in after this is closed (OWT: 3 min)
	ReconnectGrace time.Duration // wait for a relogin after a socket loss (OWT: 60 s)
	TicketLifetime time.Duration // reconnection ticket validity (OWT: 600 s)
	TokenLifetime  time.Duration // a token older than this is Expired (OWT: 180 s)
	PendingLimit   int           // messages queued per client while it is not connected
	WatchInterval  time.Duration // agent liveness check period
	AgentGrace     time.Duration // a fresh client's agent is not checked before this
	// ICEServers are added to login answers with credentials for the participant's user
	// (Conclave extension `iceServers`; nil: none).
	ICEServers *iceconfig.Issuer
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		IdleTimeout: 60 * time.Second, ReconnectGrace: 60 * time.Second,
		TicketLifetime: 600 * time.Second, TokenLifetime: 180 * time.Second,
		PendingLimit: 1024, WatchInterval: time.Second, AgentGrace: 5 * time.Second,
	}
}

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	for _, p := range []struct{ v, def *time.Duration }{
		{&c.IdleTimeout, &d.IdleTimeout}, {&c.ReconnectGrace, &d.ReconnectGrace},
		{&c.TicketLifetime, &d.TicketLifetime}, {&c.TokenLifetime, &d.TokenLifetime},
		{&c.WatchInterval, &d.WatchInterval}, {&c.AgentGrace, &d.AgentGrace},
	} {
		if *p.v <= 0 {
			*p.v = *p.def
		}
	}
	if c.PendingLimit <= 0 {
		c.PendingLimit = d.PendingLimit
	}
	return c
}

// Deps are the hub's collaborators. Tokens may be nil (every login then fails); Alive
// nil means agents are never considered dead.
type Deps struct {
	Conference Conference
	Tokens     TokenStore
	Alive      func(workerID string) bool
	Logger     *slog.Logger
}

// Hub holds the portal's clients.
type Hub struct {
	cfg     Config
	conf    Conference
	alive   func(string) bool
	log     *slog.Logger
	auth    *authenticator
	tickets *Tickets

	mu      sync.Mutex
	clients map[string]*Client
	closing bool // disconnects leave at once, no new background work
	wg      sync.WaitGroup
}

// NewHub validates cfg and returns a hub; it starts nothing.
func NewHub(cfg Config, deps Deps) (*Hub, error) {
	if cfg.PortalID == "" || deps.Conference == nil {
		return nil, fmt.Errorf("%w: portal id and conference are required", ErrConfig)
	}
	cfg = cfg.withDefaults()
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Alive == nil {
		deps.Alive = func(string) bool { return true }
	}
	return &Hub{
		cfg: cfg, conf: deps.Conference, alive: deps.Alive, log: deps.Logger,
		auth:    &authenticator{store: deps.Tokens, lifetime: cfg.TokenLifetime, now: time.Now},
		tickets: NewTickets(cfg.TicketLifetime),
		clients: map[string]*Client{},
	}, nil
}

// Run checks the clients' conference agents every WatchInterval until ctx ends; then it
// stops accepting background work, makes the clients awaiting a relogin leave and waits
// for the hub's goroutines.
func (h *Hub) Run(ctx context.Context) error {
	t := time.NewTicker(h.cfg.WatchInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			h.watchAgents()
		case <-ctx.Done():
			h.shutdown()
			return nil
		}
	}
}

// BeginShutdown makes socket losses leave at once instead of awaiting a relogin; call it
// before closing the sockets.
func (h *Hub) BeginShutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closing = true
}

// shutdown leaves the clients still awaiting a relogin and waits for background work.
func (h *Hub) shutdown() {
	h.BeginShutdown()
	for _, c := range h.snapshot() {
		if c.expire() {
			h.unregister(c)
			h.leave(c)
		}
	}
	h.wg.Wait()
}

// spawn runs f on a goroutine owned by the hub unless the hub is shutting down.
func (h *Hub) spawn(f func()) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		f()
	}()
	return true
}

// isClosing reports whether shutdown began.
func (h *Hub) isClosing() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closing
}

// register adds a client; false if the participant id is taken.
func (h *Hub) register(c *Client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, dup := h.clients[c.id]; dup {
		return false
	}
	h.clients[c.id] = c
	return true
}

// unregister removes c if it is the registered client of its id.
func (h *Hub) unregister(c *Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.clients[c.id] == c {
		delete(h.clients, c.id)
	}
}

// lookup returns the client of a participant id, or nil.
func (h *Hub) lookup(id string) *Client {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.clients[id]
}

// snapshot lists the clients.
func (h *Hub) snapshot() []*Client {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*Client, 0, len(h.clients))
	for _, c := range h.clients {
		out = append(out, c)
	}
	return out
}

// Count returns the number of participants held (including those awaiting a relogin).
func (h *Hub) Count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// leave tells the room's agent the participant left (best effort).
func (h *Hub) leave(c *Client) {
	agent, _ := c.agentInfo()
	if agent == "" {
		return
	}
	req := protocol.ParticipantRequest{RoomID: c.roomID, ParticipantID: c.id}
	if err := h.conf.Call(context.Background(), agent, protocol.MethodLeave, req, nil); err != nil {
		h.log.Debug("leave failed", "participant", c.id, "room", c.roomID, "err", err)
	}
}

// socketGone handles the loss of a client's socket: wait for a relogin when reconnection
// is enabled, else leave now (on the caller's goroutine).
func (h *Hub) socketGone(c *Client, sock Socket) {
	expire := func() { h.spawn(func() { h.expire(c) }) }
	waiting, ok := c.detach(sock, !h.isClosing(), h.cfg.ReconnectGrace, expire)
	if !ok || waiting {
		return
	}
	h.unregister(c)
	h.leave(c)
}

// expire ends a reconnection grace period.
func (h *Hub) expire(c *Client) {
	if !c.expire() {
		return
	}
	h.log.Debug("reconnection grace over", "participant", c.id)
	h.unregister(c)
	h.leave(c)
}

// drop emits `drop` to a client, closes it and, when leave, removes it from its room.
func (h *Hub) drop(c *Client, leave bool) {
	if !c.dropNow() {
		return
	}
	h.unregister(c)
	if leave {
		h.spawn(func() { h.leave(c) })
	}
}

// watchAgents drops the clients whose conference agent is no longer alive (OWT's fault
// contract: the clients of a failed conference node get `drop`).
func (h *Hub) watchAgents() {
	now := time.Now()
	verdict := map[string]bool{}
	for _, c := range h.snapshot() {
		agent, joined := c.agentInfo()
		if agent == "" || now.Sub(joined) < h.cfg.AgentGrace {
			continue
		}
		alive, seen := verdict[agent]
		if !seen {
			alive = h.alive(agent)
			verdict[agent] = alive
		}
		if !alive {
			h.log.Warn("conference agent lost, dropping participant", "agent", agent, "participant", c.id)
			h.drop(c, false)
		}
	}
}

// Deliver hands a conference agent's notice to the listed participants held here,
// converting it for legacy clients. It never blocks on a socket.
func (h *Hub) Deliver(n protocol.PortalNotice) {
	converted := map[string]message{}
	for _, id := range n.Participants {
		c := h.lookup(id)
		if c == nil || c.roomID != n.RoomID {
			continue
		}
		if n.Event == protocol.EventDrop {
			h.drop(c, true)
			continue
		}
		if n.Event == protocol.EventStream {
			c.observeStream(n.Data)
		}
		m, ok := converted[c.protocol]
		if !ok {
			ev, data := legacy.Notice(c.protocol, n.Event, n.Data)
			m = message{ev, data}
			converted[c.protocol] = m
		}
		c.send(m.event, m.data)
	}
}

// Waiting returns the number of participants awaiting a relogin.
func (h *Hub) Waiting() int {
	n := 0
	for _, c := range h.snapshot() {
		c.mu.Lock()
		if c.state == stateWaiting {
			n++
		}
		c.mu.Unlock()
	}
	return n
}
