package local

import (
	"context"
	"sync"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/internal/wire"
)

// group is a named event queue shared by competing subscribers. Its bindings accumulate while
// it lives and it disappears with its last member, like an auto-delete RabbitMQ queue.
type group struct {
	patterns map[string]struct{}
	queue    chan bus.Event
	members  int
	dropped  uint64 // guarded by hub.mu
}

func (g *group) matches(topic string) bool {
	for p := range g.patterns {
		if Match(p, topic) {
			return true
		}
	}
	return false
}

// subscriber is one Subscribe or SubscribeQueue registration, delivering in order from one
// goroutine.
type subscriber struct {
	hub     *Hub
	owner   *Bus
	pattern string
	group   string // "" for fan-out
	queue   chan bus.Event
	h       bus.EventHandler
	ctx     context.Context // cancelled by Close; passed to the handler
	cancel  context.CancelFunc
	dropped uint64 // guarded by hub.mu
	wg      sync.WaitGroup
	once    sync.Once
}

// publish delivers body to every matching subscription without ever blocking. Publishers
// are serialised by h.mu, which is what lets offer make room and then enqueue.
func (h *Hub) publish(topic string, body []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.fanout {
		if Match(s.pattern, topic) && !offer(s.queue, topic, body) {
			h.drop(topic, "subscription "+s.pattern, &s.dropped)
		}
	}
	for name, g := range h.groups {
		if g.matches(topic) && !offer(g.queue, topic, body) {
			h.drop(topic, "queue "+name, &g.dropped)
		}
	}
}

// offer queues a private copy of body, so subscribers never share memory. When the queue is
// full it discards the oldest queued event first and reports false: the same drop-head policy
// as the x-max-length limit of the RabbitMQ subscription queues.
func offer(q chan bus.Event, topic string, body []byte) bool {
	ev := bus.Event{Topic: topic, Body: append([]byte(nil), body...)}
	select {
	case q <- ev:
		return true
	default:
	}
	select {
	case <-q:
	default: // a consumer made room meanwhile
	}
	select {
	case q <- ev:
	default: // unreachable while publishers are serialised
	}
	return false
}

// drop records an overflow; it logs the first and then every 1000th drop of a subscriber so a
// stuck consumer cannot flood the log. The body is never logged.
func (h *Hub) drop(topic, who string, count *uint64) {
	h.dropped.Add(1)
	*count++
	if *count%1000 == 1 {
		h.log.Warn("bus: event queue full, event dropped", "topic", topic, "to", who,
			"dropped", *count, "err", bus.ErrOverloaded)
	}
}

func (h *Hub) addSubscriber(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.group == "" {
		s.queue = make(chan bus.Event, h.eventBuf)
		h.fanout[s] = struct{}{}
		return
	}
	g := h.groups[s.group]
	if g == nil {
		g = &group{patterns: make(map[string]struct{}), queue: make(chan bus.Event, h.eventBuf)}
		h.groups[s.group] = g
	}
	g.patterns[s.pattern] = struct{}{}
	g.members++
	s.queue = g.queue
}

func (h *Hub) removeSubscriber(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.group == "" {
		delete(h.fanout, s)
		return
	}
	g := h.groups[s.group]
	g.members--
	if g.members == 0 {
		delete(h.groups, s.group)
	}
}

// giveBack returns an event a closing queue member had already taken, so another member gets
// it; fan-out events are simply dropped with their subscription.
func (h *Hub) giveBack(s *subscriber, ev bus.Event) {
	if s.group == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if g := h.groups[s.group]; g != nil && g.members > 1 {
		select {
		case g.queue <- ev:
		default:
		}
	}
}

func newSubscriber(b *Bus, group, pattern string, h bus.EventHandler) *subscriber {
	ctx, cancel := context.WithCancel(context.Background())
	s := &subscriber{hub: b.hub, owner: b, pattern: pattern, group: group, h: h, ctx: ctx, cancel: cancel}
	b.hub.addSubscriber(s)
	s.wg.Add(1)
	go s.deliver()
	return s
}

func (s *subscriber) deliver() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case ev := <-s.queue:
			if s.ctx.Err() != nil {
				s.hub.giveBack(s, ev)
				return
			}
			wire.Deliver(s.ctx, s.hub.log, s.h, ev)
		}
	}
}

// Close implements bus.Subscription: no event is delivered after it returns, and a running
// handler call has finished.
func (s *subscriber) Close() error {
	s.once.Do(func() {
		s.cancel()
		s.wg.Wait()
		s.hub.removeSubscriber(s)
		s.owner.untrack(s)
	})
	return nil
}
