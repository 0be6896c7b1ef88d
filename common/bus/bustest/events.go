package bustest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
)

// collector records events in delivery order.
type collector struct{ ch chan bus.Event }

func newCollector() *collector { return &collector{ch: make(chan bus.Event, 1024)} }

func (c *collector) handle(_ context.Context, ev bus.Event) { c.ch <- ev }

func subscribe(t *testing.T, b bus.Bus, pattern string, h bus.EventHandler) bus.Subscription {
	t.Helper()
	sub, err := b.Subscribe(pattern, h)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", pattern, err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

func subscribeQueue(t *testing.T, b bus.Bus, queue, pattern string, h bus.EventHandler) {
	t.Helper()
	sub, err := b.SubscribeQueue(queue, pattern, h)
	if err != nil {
		t.Fatalf("SubscribeQueue(%q, %q): %v", queue, pattern, err)
	}
	t.Cleanup(func() { _ = sub.Close() })
}

func publish(t *testing.T, b bus.Bus, topic string, msg any) {
	t.Helper()
	if err := b.Publish(ctxFor(t, wait), topic, msg); err != nil {
		t.Fatalf("Publish(%q): %v", topic, err)
	}
}

// expectTopics receives len(want) events and compares their topics in order.
func (c *collector) expectTopics(t *testing.T, who string, want ...string) {
	t.Helper()
	for i, w := range want {
		ev := recv(t, c.ch, who+" event "+w)
		if ev.Topic != w {
			t.Fatalf("%s: event %d has topic %q, want %q", who, i, ev.Topic, w)
		}
	}
}

type note struct {
	Seq  int    `json:"seq"`
	Text string `json:"text"`
}

func testFanOut(t *testing.T, open func(*testing.T) bus.Bus) {
	a, b, pub := open(t), open(t), open(t)
	root := name("room")
	joined, all := newCollector(), newCollector()
	subscribe(t, a, root+".*.joined", joined.handle)
	subscribe(t, b, root+".#", all.handle)

	publish(t, pub, root+".u1.joined", note{Seq: 1, Text: "hi"})
	publish(t, pub, root+".u1.left", note{Seq: 2})
	publish(t, pub, name("other")+".u1.joined", note{Seq: 3})
	publish(t, pub, root+".u2.joined", note{Seq: 4})

	first := recv(t, joined.ch, "first event")
	var n note
	if err := first.Decode(&n); err != nil || n != (note{Seq: 1, Text: "hi"}) {
		t.Fatalf("event body = %+v, %v", n, err)
	}
	// events are ordered per subscription, so the last one proves nothing else was delivered
	joined.expectTopics(t, "a", root+".u2.joined")
	all.expectTopics(t, "b", root+".u1.joined", root+".u1.left", root+".u2.joined")
	select {
	case ev := <-joined.ch:
		t.Fatalf("unexpected event %q", ev.Topic)
	case ev := <-all.ch:
		t.Fatalf("unexpected event %q", ev.Topic)
	case <-time.After(50 * time.Millisecond):
	}
}

func testPublishOrder(t *testing.T, open func(*testing.T) bus.Bus) {
	sub, pub := open(t), open(t)
	topic := name("order") + ".tick"
	c := newCollector()
	subscribe(t, sub, topic, c.handle)
	const n = 200
	for i := range n {
		publish(t, pub, topic, note{Seq: i})
	}
	for i := range n {
		var got note
		if err := recv(t, c.ch, "event").Decode(&got); err != nil || got.Seq != i {
			t.Fatalf("event %d = %+v, %v; want seq %d", i, got, err, i)
		}
	}
}

func testSubscribeQueue(t *testing.T, open func(*testing.T) bus.Bus) {
	a, b, watcher, pub := open(t), open(t), open(t), open(t)
	root, queue := name("job"), name("workers")
	var mu sync.Mutex
	seen := make(map[int]int)
	var total atomic.Int64
	worker := func(_ context.Context, ev bus.Event) {
		var n note
		_ = ev.Decode(&n)
		mu.Lock()
		seen[n.Seq]++
		mu.Unlock()
		total.Add(1)
	}
	subscribeQueue(t, a, queue, root+".#", worker)
	subscribeQueue(t, b, queue, root+".#", worker)
	all := newCollector()
	subscribe(t, watcher, root+".#", all.handle)
	const n = 50
	for i := range n {
		publish(t, pub, root+".run", note{Seq: i})
	}
	for range n { // fan-out still sees every event
		recv(t, all.ch, "fan-out event")
	}
	eventually(t, "all queue events", func() bool { return total.Load() >= n })
	time.Sleep(100 * time.Millisecond) // let duplicates, if any, arrive
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		if seen[i] != 1 {
			t.Fatalf("event %d handled %d times by the queue, want exactly once", i, seen[i])
		}
	}
}

func testSubscriptionCloseWaits(t *testing.T, open func(*testing.T) bus.Bus) {
	sb, pub := open(t), open(t)
	topic := name("close") + ".ev"
	entered := make(chan struct{}, 16)
	release := make(chan struct{})
	var calls atomic.Int64
	sub := subscribe(t, sb, topic, func(context.Context, bus.Event) {
		calls.Add(1)
		entered <- struct{}{}
		<-release
	})
	unblock := sync.OnceFunc(func() { close(release) })
	t.Cleanup(unblock)
	publish(t, pub, topic, note{Seq: 1})
	recv(t, entered, "handler entry")
	closed := make(chan struct{})
	go func() { _ = sub.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while the handler was running")
	case <-time.After(100 * time.Millisecond):
	}
	unblock()
	recv(t, closed, "Close")
	publish(t, pub, topic, note{Seq: 2})
	time.Sleep(100 * time.Millisecond)
	if n := calls.Load(); n != 1 {
		t.Fatalf("handler called %d times, want 1 (no delivery after Close)", n)
	}
}
