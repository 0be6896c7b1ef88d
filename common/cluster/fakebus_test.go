package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/conclave-rtc/conclave/common/bus"
)

// fakeBus is an in-memory publish/subscribe bus for unit tests: it serialises messages to
// JSON like the real buses and delivers synchronously in the publisher's goroutine.
type fakeBus struct {
	mu   sync.Mutex
	subs map[int]*fakeSub
	next int
	// drop makes Publish discard messages, like a partitioned agent.
	drop atomic.Bool
}

type fakeSub struct {
	bus     *fakeBus
	id      int
	pattern string
	h       bus.EventHandler
}

var errUnsupported = errors.New("fakebus: unsupported")

func newFakeBus() *fakeBus { return &fakeBus{subs: map[int]*fakeSub{}} }

func (b *fakeBus) Call(context.Context, string, string, any, any) error { return errUnsupported }

func (b *fakeBus) Serve(string, bus.Handler) (bus.Subscription, error) { return nil, errUnsupported }

func (b *fakeBus) SubscribeQueue(string, string, bus.EventHandler) (bus.Subscription, error) {
	return nil, errUnsupported
}

func (b *fakeBus) Close() error { return nil }

func (b *fakeBus) Publish(ctx context.Context, topic string, msg any) error {
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if b.drop.Load() {
		return nil
	}
	b.mu.Lock()
	var targets []*fakeSub
	for _, s := range b.subs {
		if topicMatches(s.pattern, topic) {
			targets = append(targets, s)
		}
	}
	b.mu.Unlock()
	for _, s := range targets {
		s.h(ctx, bus.Event{Topic: topic, Body: body})
	}
	return nil
}

func (b *fakeBus) Subscribe(pattern string, h bus.EventHandler) (bus.Subscription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	s := &fakeSub{bus: b, id: b.next, pattern: pattern, h: h}
	b.subs[s.id] = s
	return s, nil
}

func (b *fakeBus) subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

func (s *fakeSub) Close() error {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	delete(s.bus.subs, s.id)
	return nil
}

// topicMatches applies AMQP topic rules: '*' matches one word, '#' zero or more.
func topicMatches(pattern, topic string) bool {
	return wordsMatch(strings.Split(pattern, "."), strings.Split(topic, "."))
}

func wordsMatch(p, t []string) bool {
	if len(p) == 0 {
		return len(t) == 0
	}
	if p[0] == "#" {
		for i := 0; i <= len(t); i++ {
			if wordsMatch(p[1:], t[i:]) {
				return true
			}
		}
		return false
	}
	if len(t) == 0 || (p[0] != "*" && p[0] != t[0]) {
		return false
	}
	return wordsMatch(p[1:], t[1:])
}

var _ bus.Bus = (*fakeBus)(nil)
