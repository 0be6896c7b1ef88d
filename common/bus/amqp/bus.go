// Package amqp implements bus.Bus on RabbitMQ (AMQP 0-9-1) for distributed deployments.
//
// Topology, every name starting with Config.Prefix:
//   - RPC: one non-durable, auto-delete queue "<prefix>rpc.<name>" per endpoint, consumed by
//     every process serving it (competing consumers, prefetch 64 = handler concurrency bound).
//     Requests go to the default exchange with mandatory=true, so a request nobody can receive
//     comes back as basic.return and fails at once with bus.ErrNoEndpoint. Replies use direct
//     reply-to (amq.rabbitmq.reply-to) and a correlation id; the caller's deadline travels in
//     the "x-deadline" header (Unix ms) and as the message expiration.
//   - Events: topic exchange "<prefix>events". Subscribe binds an exclusive server-named queue;
//     SubscribeQueue binds the shared auto-delete queue "<prefix>q.<queue>". Subscription
//     queues are bounded by Config.MaxQueuedEvents (the broker drops the oldest event).
//
// New dials the broker once and fails if that dial fails. Afterwards a supervisor goroutine
// redials with bounded exponential backoff whenever the connection or a core channel dies,
// re-declares the topology and restarts every Serve, Subscribe and SubscribeQueue
// registration. Calls in flight when the connection drops, and calls made while it is down,
// fail at once with bus.ErrDisconnected. Message bodies are never logged.
package amqp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/internal/wire"
	"github.com/conclave-rtc/conclave/common/ids"
	amqp091 "github.com/rabbitmq/amqp091-go"
)

var (
	_ bus.Bus          = (*Bus)(nil)
	_ bus.Connectivity = (*Bus)(nil)
)

// Message headers of an RPC request.
const (
	headerMethod   = "x-method"
	headerDeadline = "x-deadline"
	contentType    = "application/json"
)

// Bus is a bus.Bus on one RabbitMQ connection (re-established automatically).
type Bus struct {
	cfg   Config
	log   *slog.Logger
	stop  chan struct{} // closed by Close
	wg    sync.WaitGroup
	idPfx string
	seq   atomic.Uint64

	mu      sync.Mutex
	closed  bool
	sess    *session  // nil while disconnected
	changed time.Time // when sess last became connected or disconnected
	pending map[string]*pending
	regs    map[*consumer]struct{}
}

// pending is a call waiting for its reply.
type pending struct {
	sess  *session
	reply chan result // capacity 1: the first answer wins, later ones are dropped
}

// result is a reply body, or a transport sentinel.
type result struct {
	data []byte
	err  error
}

// New validates cfg and connects to the broker, returning an error if the first dial fails
// (within cfg.DialTimeout). On success the bus owns a supervisor goroutine until Close.
func New(cfg Config) (*Bus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	b := &Bus{
		cfg: cfg, log: cfg.Logger, stop: make(chan struct{}), idPfx: ids.RandomHex(6) + ".",
		pending: make(map[string]*pending), regs: make(map[*consumer]struct{}),
	}
	s, err := b.connect(1)
	if err != nil {
		b.wg.Wait()
		return nil, err
	}
	b.sess, b.changed = s, time.Now()
	b.wg.Add(1)
	go b.supervise(s)
	return b, nil
}

// Connected implements bus.Connectivity.
func (b *Bus) Connected() (bool, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sess != nil, b.changed
}

func (b *Bus) exchange() string            { return b.cfg.Prefix + "events" }
func (b *Bus) rpcQueue(name string) string { return b.cfg.Prefix + "rpc." + name }
func (b *Bus) namedQueue(q string) string  { return b.cfg.Prefix + "q." + q }

// current returns the live session, or the transport sentinel explaining why there is none.
func (b *Bus) current() (*session, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return nil, bus.ErrClosed
	case b.sess == nil:
		return nil, bus.ErrDisconnected
	}
	return b.sess, nil
}

// Call implements bus.Bus.
func (b *Bus) Call(ctx context.Context, target, method string, req, resp any) error {
	op := "bus: call " + target + "." + method
	body, err := wire.Encode(req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithDeadline(ctx, wire.Deadline(ctx))
	defer cancel()
	deadline, _ := ctx.Deadline()
	remaining := time.Until(deadline).Milliseconds()
	if remaining <= 0 {
		return ctxError(op, context.DeadlineExceeded)
	}
	id, p, err := b.begin()
	if err != nil {
		return bus.NewTransportError(op, err, nil)
	}
	defer b.end(id)
	err = p.sess.rpc.PublishWithContext(ctx, "", b.rpcQueue(target), true, false, amqp091.Publishing{
		ContentType:   contentType,
		CorrelationId: id,
		ReplyTo:       directReplyTo,
		Expiration:    strconv.FormatInt(remaining, 10),
		Headers:       amqp091.Table{headerMethod: method, headerDeadline: wire.FormatDeadline(deadline)},
		Body:          body,
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctxError(op, ctx.Err())
		}
		return bus.NewTransportError(op, bus.ErrDisconnected, err)
	}
	select {
	case r := <-p.reply:
		if r.err != nil {
			return bus.NewTransportError(op, r.err, nil)
		}
		return wire.DecodeReply(r.data, resp)
	case <-ctx.Done():
		return ctxError(op, ctx.Err())
	}
}

// ctxError reports a call abandoned because its context ended: a deadline is a bus timeout,
// a cancellation is the caller's own doing and is returned as such.
func ctxError(op string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return bus.NewTransportError(op, bus.ErrTimeout, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// begin registers a pending call on the current session.
func (b *Bus) begin() (string, *pending, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return "", nil, bus.ErrClosed
	case b.sess == nil:
		return "", nil, bus.ErrDisconnected
	}
	id := b.idPfx + strconv.FormatUint(b.seq.Add(1), 36)
	p := &pending{sess: b.sess, reply: make(chan result, 1)}
	b.pending[id] = p
	return id, p, nil
}

func (b *Bus) end(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.pending, id)
}

// finish hands a reply or a failure to the call with correlation id; replies for calls that
// are gone (late replies) are dropped.
func (b *Bus) finish(id string, r result) {
	b.mu.Lock()
	p := b.pending[id]
	b.mu.Unlock()
	if p == nil {
		return
	}
	select {
	case p.reply <- r:
	default:
	}
}

// failPending fails every call waiting on session s (every call, when s is nil).
func (b *Bus) failPending(s *session, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.pending {
		if s == nil || p.sess == s {
			select {
			case p.reply <- result{err: err}:
			default:
			}
		}
	}
}

// Publish implements bus.Bus. With PublisherConfirms it returns once the broker has taken
// responsibility for the event.
func (b *Bus) Publish(ctx context.Context, topic string, msg any) error {
	op := "bus: publish " + topic
	body, err := wire.Encode(msg)
	if err != nil {
		return err
	}
	s, err := b.current()
	if err != nil {
		return bus.NewTransportError(op, err, nil)
	}
	ctx, cancel := context.WithDeadline(ctx, wire.Deadline(ctx))
	defer cancel()
	m := amqp091.Publishing{ContentType: contentType, Body: body}
	if !b.cfg.PublisherConfirms {
		if err := s.pub.PublishWithContext(ctx, b.exchange(), topic, false, false, m); err != nil {
			return publishError(ctx, op, err)
		}
		return nil
	}
	dc, err := s.pub.PublishWithDeferredConfirmWithContext(ctx, b.exchange(), topic, false, false, m)
	if err != nil {
		return publishError(ctx, op, err)
	}
	acked, err := dc.WaitContext(ctx)
	switch {
	case err != nil:
		return ctxError(op, err)
	case acked:
		return nil
	case s.isDead():
		return bus.NewTransportError(op, bus.ErrDisconnected, nil)
	}
	return fmt.Errorf("%s: %w", op, ErrNacked)
}

func publishError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return ctxError(op, ctx.Err())
	}
	return bus.NewTransportError(op, bus.ErrDisconnected, err)
}

// Close implements bus.Bus: it closes every subscription (waiting for running handlers), fails
// pending calls with bus.ErrClosed, closes the connection and waits for the bus's goroutines.
// It is idempotent.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	s := b.sess
	regs := make([]*consumer, 0, len(b.regs))
	for c := range b.regs {
		regs = append(regs, c)
	}
	b.mu.Unlock()
	close(b.stop)
	b.failPending(nil, bus.ErrClosed)
	for _, c := range regs {
		_ = c.Close()
	}
	if s != nil {
		s.kill()
	}
	b.wg.Wait()
	return nil
}
