package local

import (
	"context"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/internal/wire"
)

// call is one queued RPC request; reply has room for exactly one result so a late reply never
// blocks the handler.
type call struct {
	method   string
	body     []byte
	deadline time.Time
	reply    chan result
}

// result is a reply envelope, or a transport sentinel when the request could not be handled.
type result struct {
	data []byte
	err  error
}

func (c *call) finish(r result) {
	select {
	case c.reply <- r:
	default: // already answered
	}
}

// endpoint is the request queue of one RPC name, shared by every server of that name
// (competing consumers, like one RabbitMQ queue with several consumers).
type endpoint struct {
	queue   chan *call
	servers int
}

// dispatch queues c for target.
func (h *Hub) dispatch(target string, c *call) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	ep := h.endpoints[target]
	if ep == nil {
		return bus.ErrNoEndpoint
	}
	select {
	case ep.queue <- c:
		return nil
	default:
		return bus.ErrOverloaded
	}
}

// requeue gives back a request taken by a server that is closing, so another server of the
// same name can handle it.
func (h *Hub) requeue(name string, c *call) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ep := h.endpoints[name]
	if ep == nil {
		c.finish(result{err: bus.ErrNoEndpoint})
		return
	}
	select {
	case ep.queue <- c:
	default:
		c.finish(result{err: bus.ErrOverloaded})
	}
}

func (h *Hub) addServer(name string) *endpoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	ep := h.endpoints[name]
	if ep == nil {
		ep = &endpoint{queue: make(chan *call, h.reqBuf)}
		h.endpoints[name] = ep
	}
	ep.servers++
	return ep
}

// removeServer unregisters one server; the last one takes the endpoint away and fails what
// is still queued with ErrNoEndpoint (RabbitMQ deletes the auto-delete queue likewise).
func (h *Hub) removeServer(name string, ep *endpoint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ep.servers--
	if ep.servers > 0 {
		return
	}
	delete(h.endpoints, name)
	for {
		select {
		case c := <-ep.queue:
			c.finish(result{err: bus.ErrNoEndpoint})
		default:
			return
		}
	}
}

// server is one Serve registration: a dispatcher goroutine and at most wire.MaxInFlight
// handler goroutines.
type server struct {
	hub    *Hub
	owner  *Bus
	name   string
	ep     *endpoint
	h      bus.Handler
	ctx    context.Context // cancelled by Close; parent of every handler context
	cancel context.CancelFunc
	slots  chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

func newServer(b *Bus, name string, h bus.Handler) *server {
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{
		hub: b.hub, owner: b, name: name, h: h, ctx: ctx, cancel: cancel,
		slots: make(chan struct{}, wire.MaxInFlight),
	}
	s.ep = b.hub.addServer(name)
	s.wg.Add(1)
	go s.dispatch()
	return s
}

func (s *server) dispatch() {
	defer s.wg.Done()
	for {
		var c *call
		select {
		case <-s.ctx.Done():
			return
		case c = <-s.ep.queue:
		}
		if !s.acquire() {
			s.hub.requeue(s.name, c)
			return
		}
		s.wg.Add(1)
		go s.handle(c)
	}
}

// acquire takes a handler slot; false means the server is closing.
func (s *server) acquire() bool {
	if s.ctx.Err() != nil {
		return false
	}
	select {
	case s.slots <- struct{}{}:
		return true
	case <-s.ctx.Done():
		return false
	}
}

func (s *server) handle(c *call) {
	defer s.wg.Done()
	defer func() { <-s.slots }()
	if !time.Now().Before(c.deadline) {
		return // the caller has given up already
	}
	ctx, cancel := context.WithDeadline(s.ctx, c.deadline)
	defer cancel()
	data := wire.Handle(ctx, s.hub.log, s.h, bus.Request{Method: c.method, Body: c.body})
	if time.Now().Before(c.deadline) { // past it the caller reports a timeout, not this reply
		c.finish(result{data: data})
	}
}

// Close implements bus.Subscription: it stops taking requests, cancels running handlers'
// contexts and waits for them to return.
func (s *server) Close() error {
	s.once.Do(func() {
		s.cancel()
		s.wg.Wait()
		s.hub.removeServer(s.name, s.ep)
		s.owner.untrack(s)
	})
	return nil
}
