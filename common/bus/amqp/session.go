package amqp

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	amqp091 "github.com/rabbitmq/amqp091-go"
)

// directReplyTo is RabbitMQ's pseudo-queue for RPC replies without a reply queue per caller.
const directReplyTo = "amq.rabbitmq.reply-to"

// session is one broker connection with the two channels the bus itself uses. A session
// never recovers: when any part of it fails it is marked dead and the supervisor builds a new
// one.
type session struct {
	gen  uint64
	raw  net.Conn // the TCP socket, so tests can simulate a network failure
	conn *amqp091.Connection
	rpc  *amqp091.Channel // publishes requests, consumes direct replies, receives returns
	pub  *amqp091.Channel // publishes events (confirm mode when enabled)
	dead chan struct{}    // closed once the session has failed or was closed
	once sync.Once
}

func (s *session) kill() {
	s.once.Do(func() {
		close(s.dead)
		_ = s.conn.Close()
	})
}

func (s *session) isDead() bool {
	select {
	case <-s.dead:
		return true
	default:
		return false
	}
}

// connect dials the broker and prepares a session: direct reply-to consumer, returns
// listener, the events exchange and (optionally) confirm mode. Its goroutines belong to b.
func (b *Bus) connect(gen uint64) (*session, error) {
	s := &session{gen: gen, dead: make(chan struct{})}
	dial := amqp091.DefaultDial(b.cfg.DialTimeout)
	props := amqp091.NewConnectionProperties()
	props.SetClientConnectionName(b.cfg.Prefix + "bus")
	conn, err := amqp091.DialConfig(b.cfg.URL, amqp091.Config{
		Properties: props,
		Dial: func(network, addr string) (net.Conn, error) {
			c, err := dial(network, addr)
			s.raw = c
			return c, err
		},
	})
	if err != nil {
		return nil, fmt.Errorf("amqp bus: dial: %w", err)
	}
	s.conn = conn
	if err := b.prepare(s); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return s, nil
}

func (b *Bus) prepare(s *session) error {
	var err error
	if s.rpc, err = s.conn.Channel(); err != nil {
		return fmt.Errorf("amqp bus: open rpc channel: %w", err)
	}
	if s.pub, err = s.conn.Channel(); err != nil {
		return fmt.Errorf("amqp bus: open publish channel: %w", err)
	}
	if err := s.pub.ExchangeDeclare(b.exchange(), "topic", false, false, false, false, nil); err != nil {
		return fmt.Errorf("amqp bus: declare exchange: %w", err)
	}
	if b.cfg.PublisherConfirms {
		if err := s.pub.Confirm(false); err != nil {
			return fmt.Errorf("amqp bus: enable publisher confirms: %w", err)
		}
	}
	replies, err := s.rpc.Consume(directReplyTo, "", true, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("amqp bus: consume direct reply-to: %w", err)
	}
	returns := s.rpc.NotifyReturn(make(chan amqp091.Return, 16))
	connClosed := s.conn.NotifyClose(make(chan *amqp091.Error, 1))
	rpcClosed := s.rpc.NotifyClose(make(chan *amqp091.Error, 1))
	pubClosed := s.pub.NotifyClose(make(chan *amqp091.Error, 1))
	b.wg.Add(3)
	go b.watch(s, connClosed, rpcClosed, pubClosed)
	go b.readReplies(replies)
	go b.readReturns(returns)
	return nil
}

// watch marks s dead as soon as the connection or one of its channels closes.
func (b *Bus) watch(s *session, closers ...chan *amqp091.Error) {
	defer b.wg.Done()
	var reason *amqp091.Error
	select {
	case reason = <-closers[0]:
	case reason = <-closers[1]:
	case reason = <-closers[2]:
	case <-s.dead:
	}
	if reason != nil {
		b.log.Warn("amqp bus: connection lost", "code", reason.Code, "reason", reason.Reason)
	}
	s.kill()
}

func (b *Bus) readReplies(replies <-chan amqp091.Delivery) {
	defer b.wg.Done()
	for d := range replies {
		b.finish(d.CorrelationId, result{data: d.Body})
	}
}

// readReturns turns a mandatory request the broker could not route (no queue for the
// endpoint) into a fast ErrNoEndpoint.
func (b *Bus) readReturns(returns <-chan amqp091.Return) {
	defer b.wg.Done()
	for r := range returns {
		b.finish(r.CorrelationId, result{err: bus.ErrNoEndpoint})
	}
}

// supervise owns the connection: whenever the current session dies it fails in-flight calls
// and reconnects with backoff, then restarts every registration. It returns when the bus
// closes.
func (b *Bus) supervise(s *session) {
	defer b.wg.Done()
	for {
		select {
		case <-b.stop:
			return
		case <-s.dead:
		}
		b.lost(s)
		if s = b.reconnect(s.gen + 1); s == nil {
			return
		}
	}
}

// reconnect dials until it succeeds (returning the adopted session) or the bus closes (nil).
func (b *Bus) reconnect(gen uint64) *session {
	delay := b.cfg.ReconnectMin
	for {
		// full jitter on the upper half avoids every agent redialling in lockstep
		wait := delay/2 + rand.N(delay/2+1)
		select {
		case <-b.stop:
			return nil
		case <-time.After(wait):
		}
		s, err := b.connect(gen)
		if err == nil {
			if b.adopt(s) {
				b.log.Info("amqp bus: reconnected", "generation", gen)
				return s
			}
			return nil
		}
		b.log.Warn("amqp bus: reconnect failed", "err", err, "retryIn", delay)
		delay = min(delay*2, b.cfg.ReconnectMax)
	}
}

// adopt makes s current and restarts every registration on it; false means the bus closed
// meanwhile (s is then closed).
func (b *Bus) adopt(s *session) bool {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		s.kill()
		return false
	}
	b.sess, b.changed = s, time.Now()
	regs := make([]*consumer, 0, len(b.regs))
	for c := range b.regs {
		regs = append(regs, c)
	}
	b.mu.Unlock()
	for _, c := range regs {
		if err := c.start(s); err != nil {
			b.log.Error("amqp bus: cannot restart subscription", "kind", c.kind, "name", c.name, "err", err)
		}
	}
	return true
}

// lost forgets the dead session s and fails the calls waiting on it.
func (b *Bus) lost(s *session) {
	b.mu.Lock()
	if b.sess == s {
		b.sess, b.changed = nil, time.Now()
	}
	b.mu.Unlock()
	b.failPending(s, bus.ErrDisconnected)
}
