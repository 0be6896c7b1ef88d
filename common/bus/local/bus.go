package local

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/internal/wire"
)

var _ bus.Bus = (*Bus)(nil)

// Bus is one process's view of a Hub. Closing it closes every subscription made through it
// and fails its pending calls with bus.ErrClosed, like a process disconnecting from a broker.
type Bus struct {
	hub  *Hub
	done chan struct{} // closed by Close

	mu     sync.Mutex
	closed bool
	subs   map[bus.Subscription]struct{}
}

// New returns a bus attached to hub. It starts no goroutines until something subscribes.
func New(hub *Hub) *Bus {
	return &Bus{hub: hub, done: make(chan struct{}), subs: make(map[bus.Subscription]struct{})}
}

// Call implements bus.Bus.
func (b *Bus) Call(ctx context.Context, target, method string, req, resp any) error {
	op := "bus: call " + target + "." + method
	if b.isClosed() {
		return bus.NewTransportError(op, bus.ErrClosed, nil)
	}
	body, err := wire.Encode(req)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithDeadline(ctx, wire.Deadline(ctx))
	defer cancel()
	deadline, _ := ctx.Deadline()
	c := &call{method: method, body: body, deadline: deadline, reply: make(chan result, 1)}
	if err := b.hub.dispatch(target, c); err != nil {
		return bus.NewTransportError(op, err, nil)
	}
	select {
	case r := <-c.reply:
		if r.err != nil {
			return bus.NewTransportError(op, r.err, nil)
		}
		return wire.DecodeReply(r.data, resp)
	case <-ctx.Done():
		return ctxError(op, ctx.Err())
	case <-b.done:
		return bus.NewTransportError(op, bus.ErrClosed, nil)
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

// Serve implements bus.Bus.
func (b *Bus) Serve(name string, h bus.Handler) (bus.Subscription, error) {
	if name == "" || h == nil {
		return nil, errors.New("bus: serve needs a name and a handler")
	}
	return b.register(func() bus.Subscription { return newServer(b, name, h) })
}

// Publish implements bus.Bus. It never blocks: a subscriber whose queue is full loses the
// event (see the package comment).
func (b *Bus) Publish(ctx context.Context, topic string, msg any) error {
	if b.isClosed() {
		return bus.NewTransportError("bus: publish "+topic, bus.ErrClosed, nil)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bus: publish %s: %w", topic, err)
	}
	body, err := wire.Encode(msg)
	if err != nil {
		return err
	}
	b.hub.publish(topic, body)
	return nil
}

// Subscribe implements bus.Bus.
func (b *Bus) Subscribe(pattern string, h bus.EventHandler) (bus.Subscription, error) {
	if h == nil {
		return nil, errors.New("bus: subscribe needs a handler")
	}
	return b.register(func() bus.Subscription { return newSubscriber(b, "", pattern, h) })
}

// SubscribeQueue implements bus.Bus.
func (b *Bus) SubscribeQueue(queue, pattern string, h bus.EventHandler) (bus.Subscription, error) {
	if queue == "" || h == nil {
		return nil, errors.New("bus: subscribe queue needs a queue name and a handler")
	}
	return b.register(func() bus.Subscription { return newSubscriber(b, queue, pattern, h) })
}

// register creates a subscription under the bus lock, so Close cannot miss it.
func (b *Bus) register(create func() bus.Subscription) (bus.Subscription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, bus.NewTransportError("bus: subscribe", bus.ErrClosed, nil)
	}
	s := create()
	b.subs[s] = struct{}{}
	return s, nil
}

func (b *Bus) untrack(s bus.Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.subs, s)
}

func (b *Bus) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// Close implements bus.Bus. It is idempotent.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.done)
	subs := make([]bus.Subscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		_ = s.Close() // local subscriptions never fail to close
	}
	return nil
}
