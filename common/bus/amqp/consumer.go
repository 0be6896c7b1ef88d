package amqp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/internal/wire"
	"github.com/conclave-rtc/conclave/common/ids"
	amqp091 "github.com/rabbitmq/amqp091-go"
)

// eventPrefetch bounds the events buffered in the client per subscription; the rest wait on
// the broker (bounded by Config.MaxQueuedEvents).
const eventPrefetch = 64

// consumer is one Serve, Subscribe or SubscribeQueue registration. It survives reconnects:
// start is called again on every new session and opens a fresh channel, re-declares its queue
// and binding, and consumes again.
type consumer struct {
	b          *Bus
	kind, name string // for logs: "rpc"/"subscribe"/"queue" and the endpoint, pattern or queue
	declare    func(ch *amqp091.Channel) (queue string, err error)
	exclusive  bool
	prefetch   int
	concurrent bool // RPC handlers run in parallel; events are handled in order
	handle     func(ctx context.Context, ch *amqp091.Channel, d amqp091.Delivery)
	ctx        context.Context // cancelled by Close; parent of every handler context
	cancel     context.CancelFunc
	wg         sync.WaitGroup // delivery loops and running handlers
	once       sync.Once

	mu     sync.Mutex
	closed bool
	gen    uint64 // session generation the consumer runs on
	ch     *amqp091.Channel
	tag    string
}

// register tracks c and starts it on the live session. While disconnected it only tracks it:
// the supervisor starts it after reconnecting.
func (b *Bus) register(c *consumer) (bus.Subscription, error) {
	c.ctx, c.cancel = context.WithCancel(context.Background())
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		c.cancel()
		return nil, bus.NewTransportError("bus: "+c.kind+" "+c.name, bus.ErrClosed, nil)
	}
	b.regs[c] = struct{}{}
	s := b.sess
	b.mu.Unlock()
	if s == nil {
		return c, nil
	}
	if err := c.start(s); err != nil && !s.isDead() && !s.conn.IsClosed() {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

func (b *Bus) untrack(c *consumer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.regs, c)
}

// start runs c on session s unless it already runs there or is closed.
func (c *consumer) start(s *session) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.gen == s.gen {
		return nil
	}
	ch, err := s.conn.Channel()
	if err != nil {
		return fmt.Errorf("amqp bus: %s %s: open channel: %w", c.kind, c.name, err)
	}
	deliveries, tag, err := c.consume(ch)
	if err != nil {
		_ = ch.Close()
		return fmt.Errorf("amqp bus: %s %s: %w", c.kind, c.name, err)
	}
	c.ch, c.tag, c.gen = ch, tag, s.gen
	c.wg.Add(1)
	go c.run(ch, deliveries)
	return nil
}

func (c *consumer) consume(ch *amqp091.Channel) (<-chan amqp091.Delivery, string, error) {
	if err := ch.Qos(c.prefetch, 0, false); err != nil {
		return nil, "", fmt.Errorf("set prefetch: %w", err)
	}
	queue, err := c.declare(ch)
	if err != nil {
		return nil, "", err
	}
	tag := c.b.cfg.Prefix + c.kind + "." + ids.RandomHex(8)
	deliveries, err := ch.Consume(queue, tag, false, c.exclusive, false, false, nil)
	if err != nil {
		return nil, "", fmt.Errorf("consume %s: %w", queue, err)
	}
	return deliveries, tag, nil
}

// run is the delivery loop of one channel; it ends when the consumer is cancelled or the
// channel dies.
func (c *consumer) run(ch *amqp091.Channel, deliveries <-chan amqp091.Delivery) {
	defer c.wg.Done()
	for d := range deliveries {
		if c.ctx.Err() != nil {
			_ = d.Nack(false, true) // closing: leave it to a competing consumer
			continue
		}
		if !c.concurrent {
			c.handle(c.ctx, ch, d)
			continue
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.handle(c.ctx, ch, d)
		}()
	}
}

// Close implements bus.Subscription: it cancels the consumer, cancels the contexts of running
// handlers and waits for them.
func (c *consumer) Close() error {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		ch, tag := c.ch, c.tag
		c.mu.Unlock()
		c.cancel()
		if ch != nil {
			if err := ch.Cancel(tag, false); err != nil {
				_ = ch.Close() // closing the channel ends the delivery loop as well
			}
		}
		c.wg.Wait()
		if ch != nil {
			_ = ch.Close()
		}
		c.b.untrack(c)
	})
	return nil
}

// Serve implements bus.Bus.
func (b *Bus) Serve(name string, h bus.Handler) (bus.Subscription, error) {
	if name == "" || h == nil {
		return nil, errors.New("bus: serve needs a name and a handler")
	}
	queue := b.rpcQueue(name)
	return b.register(&consumer{
		b: b, kind: "rpc", name: name, prefetch: wire.MaxInFlight, concurrent: true,
		declare: func(ch *amqp091.Channel) (string, error) {
			if _, err := ch.QueueDeclare(queue, false, true, false, false, nil); err != nil {
				return "", fmt.Errorf("declare %s: %w", queue, err)
			}
			return queue, nil
		},
		handle: func(ctx context.Context, ch *amqp091.Channel, d amqp091.Delivery) {
			b.serveOne(ctx, ch, h, d)
		},
	})
}

// serveOne handles one request and publishes the reply, unless the caller's deadline has
// passed (the caller reports a timeout then, so a reply would only be dropped).
func (b *Bus) serveOne(ctx context.Context, ch *amqp091.Channel, h bus.Handler, d amqp091.Delivery) {
	defer func() { _ = d.Ack(false) }()
	deadline := wire.ParseDeadline(headerString(d.Headers, headerDeadline))
	if !time.Now().Before(deadline) {
		return
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	method := headerString(d.Headers, headerMethod)
	data := wire.Handle(ctx, b.log, h, bus.Request{Method: method, Body: d.Body})
	if d.ReplyTo == "" || !time.Now().Before(deadline) {
		return
	}
	err := ch.PublishWithContext(context.Background(), "", d.ReplyTo, false, false, amqp091.Publishing{
		ContentType: contentType, CorrelationId: d.CorrelationId, Body: data,
	})
	if err != nil {
		b.log.Warn("amqp bus: cannot send rpc reply", "method", method, "err", err)
	}
}

func headerString(t amqp091.Table, key string) string {
	s, _ := t[key].(string)
	return s
}

// Subscribe implements bus.Bus.
func (b *Bus) Subscribe(pattern string, h bus.EventHandler) (bus.Subscription, error) {
	if h == nil {
		return nil, errors.New("bus: subscribe needs a handler")
	}
	return b.register(b.eventConsumer("subscribe", pattern, "", pattern, h))
}

// SubscribeQueue implements bus.Bus.
func (b *Bus) SubscribeQueue(queue, pattern string, h bus.EventHandler) (bus.Subscription, error) {
	if queue == "" || h == nil {
		return nil, errors.New("bus: subscribe queue needs a queue name and a handler")
	}
	return b.register(b.eventConsumer("queue", queue, b.namedQueue(queue), pattern, h))
}

// eventConsumer binds queue (server-named and exclusive when "") to the events exchange.
func (b *Bus) eventConsumer(kind, name, queue, pattern string, h bus.EventHandler) *consumer {
	args := amqp091.Table{"x-max-length": int64(b.cfg.MaxQueuedEvents)}
	return &consumer{
		b: b, kind: kind, name: name, prefetch: eventPrefetch, exclusive: queue == "",
		declare: func(ch *amqp091.Channel) (string, error) {
			q, err := ch.QueueDeclare(queue, false, true, queue == "", false, args)
			if err != nil {
				return "", fmt.Errorf("declare event queue: %w", err)
			}
			if err := ch.QueueBind(q.Name, pattern, b.exchange(), false, nil); err != nil {
				return "", fmt.Errorf("bind %q: %w", pattern, err)
			}
			return q.Name, nil
		},
		handle: func(ctx context.Context, _ *amqp091.Channel, d amqp091.Delivery) {
			wire.Deliver(ctx, b.log, h, bus.Event{Topic: d.RoutingKey, Body: d.Body})
			_ = d.Ack(false)
		},
	}
}
