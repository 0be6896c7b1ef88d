// Package bustest is the contract suite every bus.Bus implementation must pass.
//
// Run calls newBus several times per test; every bus it returns must be attached to the same
// backend (one broker, one local hub) so that "process A calls process B" is what is tested.
// Names are unique per test, so the backend may be shared by all tests.
package bustest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/testutil"
)

// wait is how long the suite waits for something that should happen promptly.
const wait = 5 * time.Second

// Run runs the contract suite. newBus returns a new bus on the shared backend; the suite closes
// every bus it creates (Close must be idempotent, so the factory may close it too).
func Run(t *testing.T, newBus func(t *testing.T) bus.Bus) {
	open := func(t *testing.T) bus.Bus {
		t.Helper()
		b := newBus(t)
		t.Cleanup(func() { _ = b.Close() })
		return b
	}
	tests := []struct {
		name string
		run  func(t *testing.T, open func(t *testing.T) bus.Bus)
	}{
		{"CallRoundTrip", testCallRoundTrip},
		{"CallNilRequestAndResponse", testCallNil},
		{"CallSerialisesLikeTheNetwork", testCallSerialises},
		{"CallErrorsCrossTheWire", testCallErrors},
		{"CallTimeout", testCallTimeout},
		{"CallHandlerDeadline", testCallHandlerDeadline},
		{"CallNoEndpoint", testCallNoEndpoint},
		{"CallAfterServeClosed", testCallAfterServeClosed},
		{"CallLateReplyDropped", testLateReply},
		{"CallCompetingServers", testCompetingServers},
		{"ServeConcurrencyBounded", testConcurrencyBounded},
		{"ServeCloseCancelsHandlers", testServeCloseCancels},
		{"ClosedBus", testClosedBus},
		{"CloseFailsPendingCalls", testCloseFailsPending},
		{"PublishFanOut", testFanOut},
		{"PublishOrder", testPublishOrder},
		{"SubscribeQueueCompeting", testSubscribeQueue},
		{"SubscriptionCloseWaitsForHandler", testSubscriptionCloseWaits},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, open) })
	}
}

// name returns a unique endpoint, topic or queue word for one test.
func name(prefix string) string { return testutil.UniqueName(prefix) }

// serve registers h on b and closes it at the end of the test.
func serve(t *testing.T, b bus.Bus, name string, h bus.Handler) bus.Subscription {
	t.Helper()
	sub, err := b.Serve(name, h)
	if err != nil {
		t.Fatalf("Serve(%q): %v", name, err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

// within runs f and fails the test unless it returns within d.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %v", what, d)
	}
}

// eventually polls cond until it holds or the suite's wait elapses.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// recv waits for one value from ch.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wait):
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

// wantSentinel fails unless err wraps sentinel.
func wantSentinel(t *testing.T, err, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error = %v, want one wrapping %v", err, sentinel)
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
