package amqp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/amqp"
	"github.com/conclave-rtc/conclave/common/bus/bustest"
	"github.com/conclave-rtc/conclave/common/testutil"
)

// testConfig isolates a test on the shared broker with a unique name prefix.
func testConfig(t testing.TB) amqp.Config {
	cfg := amqp.Default()
	cfg.URL = testutil.AMQPURL(t)
	cfg.Prefix = testutil.UniqueName("test.") + "."
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.ReconnectMin = 20 * time.Millisecond
	cfg.ReconnectMax = 500 * time.Millisecond
	return cfg
}

func open(t testing.TB, cfg amqp.Config) *amqp.Bus {
	t.Helper()
	b, err := amqp.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestBusAMQPContract(t *testing.T) {
	cfg := testConfig(t)
	bustest.Run(t, func(t *testing.T) bus.Bus { return open(t, cfg) })
}

func TestBusAMQPConfigValidate(t *testing.T) {
	ok := amqp.Default()
	tests := []struct {
		name   string
		mutate func(*amqp.Config)
		key    string // "" means valid
	}{
		{"default", func(*amqp.Config) {}, ""},
		{"zero optionals", func(c *amqp.Config) { *c = amqp.Config{URL: ok.URL} }, ""},
		{"empty url", func(c *amqp.Config) { c.URL = "" }, "url"},
		{"bad url", func(c *amqp.Config) { c.URL = "http://secret@127.0.0.1/" }, "url"},
		{"negative min", func(c *amqp.Config) { c.ReconnectMin = -1 }, "reconnectMin"},
		{"max below min", func(c *amqp.Config) { c.ReconnectMin, c.ReconnectMax = time.Second, time.Millisecond }, "reconnectMax"},
		{"negative queue", func(c *amqp.Config) { c.MaxQueuedEvents = -1 }, "maxQueuedEvents"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.mutate(&cfg)
			err := cfg.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, amqp.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig naming %q", err, tc.key)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("Validate() leaks the URL: %v", err)
			}
		})
	}
}

func TestBusAMQPNewFailsWithoutBroker(t *testing.T) {
	cfg := amqp.Default()
	cfg.URL = "amqp://guest:guest@127.0.0.1:1/" // nothing listens on port 1
	cfg.DialTimeout = time.Second
	start := time.Now()
	if _, err := amqp.New(cfg); err == nil {
		t.Fatal("New succeeded without a broker")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("New took %v to fail", took)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBusAMQPReconnectRestoresRegistrations(t *testing.T) {
	cfg := testConfig(t)
	server, client := open(t, cfg), open(t, cfg)
	if _, err := server.Serve("echo", func(_ context.Context, req bus.Request) (any, error) {
		return string(req.Body), nil
	}); err != nil {
		t.Fatal(err)
	}
	events := make(chan string, 100)
	if _, err := server.Subscribe("news.#", func(_ context.Context, ev bus.Event) { events <- ev.Topic }); err != nil {
		t.Fatal(err)
	}
	if _, err := server.SubscribeQueue("work", "job.#", func(_ context.Context, ev bus.Event) { events <- ev.Topic }); err != nil {
		t.Fatal(err)
	}
	for _, victim := range []*amqp.Bus{server, client} {
		gen := victim.Generation()
		if !victim.DropConnection() {
			t.Fatal("bus not connected")
		}
		waitFor(t, "reconnect", func() bool { return victim.Generation() > gen })
		waitFor(t, "a successful call", func() bool {
			return client.Call(context.Background(), "echo", "m", 1, nil) == nil
		})
		for _, topic := range []string{"news.today", "job.run"} {
			waitFor(t, "event "+topic+" after reconnect", func() bool {
				if err := client.Publish(context.Background(), topic, 1); err != nil {
					return false
				}
				select {
				case got := <-events:
					return got == topic
				case <-time.After(200 * time.Millisecond):
					return false
				}
			})
		}
	}
}

func TestBusAMQPInFlightCallFailsOnDisconnect(t *testing.T) {
	cfg := testConfig(t)
	server, client := open(t, cfg), open(t, cfg)
	started := make(chan struct{}, 1)
	if _, err := server.Serve("slow", func(ctx context.Context, _ bus.Request) (any, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		errc <- client.Call(ctx, "slow", "m", nil, nil)
	}()
	<-started
	start := time.Now()
	client.DropConnection()
	select {
	case err := <-errc:
		if !errors.Is(err, bus.ErrDisconnected) {
			t.Fatalf("in-flight call = %v, want ErrDisconnected", err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("in-flight call took %v to fail", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("in-flight call hung after the connection dropped")
	}
}

func TestBusAMQPCallWhileDisconnectedFailsFast(t *testing.T) {
	cfg := testConfig(t)
	cfg.ReconnectMin, cfg.ReconnectMax = 3*time.Second, 3*time.Second
	b := open(t, cfg)
	b.DropConnection()
	waitFor(t, "disconnection", func() bool { return b.Generation() == 0 })
	start := time.Now()
	err := b.Call(context.Background(), "anything", "m", nil, nil)
	if !errors.Is(err, bus.ErrDisconnected) || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("call while disconnected = %v after %v, want a fast ErrDisconnected", err, time.Since(start))
	}
	if err := b.Publish(context.Background(), "a.b", 1); !errors.Is(err, bus.ErrDisconnected) {
		t.Fatalf("publish while disconnected = %v, want ErrDisconnected", err)
	}
	// a registration made while disconnected starts once the bus reconnects
	if _, err := b.Serve("later", func(context.Context, bus.Request) (any, error) { return "ok", nil }); err != nil {
		t.Fatalf("Serve while disconnected: %v", err)
	}
	waitFor(t, "reconnect", func() bool { return b.Generation() > 0 })
	var out string
	waitFor(t, "call to a late registration", func() bool {
		return b.Call(context.Background(), "later", "m", nil, &out) == nil && out == "ok"
	})
}

func TestBusAMQPPublishWithoutConfirms(t *testing.T) {
	cfg := testConfig(t)
	cfg.PublisherConfirms = false
	b := open(t, cfg)
	got := make(chan bus.Event, 1)
	if _, err := b.Subscribe("x.*", func(_ context.Context, ev bus.Event) { got <- ev }); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), "x.y", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-got:
		if ev.Topic != "x.y" || string(ev.Body) != `{"n":1}` {
			t.Fatalf("event = %s %s", ev.Topic, ev.Body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("event not delivered")
	}
}

func TestBusAMQPSlowSubscriberQueueBounded(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxQueuedEvents = 5
	b := open(t, cfg)
	release := make(chan struct{})
	got := make(chan int, 200)
	sub, err := b.Subscribe("slow", func(_ context.Context, ev bus.Event) {
		<-release
		var n int
		_ = ev.Decode(&n)
		got <- n
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	unblock := sync.OnceFunc(func() { close(release) })
	t.Cleanup(unblock)
	const n = 200
	for i := range n { // confirmed, so all reached the broker before the release
		if err := b.Publish(context.Background(), "slow", i); err != nil {
			t.Fatal(err)
		}
	}
	unblock()
	var delivered []int
	for last := -1; last != n-1; {
		select {
		case last = <-got:
			delivered = append(delivered, last)
		case <-time.After(5 * time.Second):
			t.Fatalf("newest event never delivered; got %d events", len(delivered))
		}
	}
	// prefetch (64) in the client plus 5 on the broker, plus the one in the handler
	if len(delivered) > 64+5+1 {
		t.Fatalf("%d of %d events delivered, want the queue bounded", len(delivered), n)
	}
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func TestBusAMQPNeverLogsBodies(t *testing.T) {
	const secret = "tok-5ecret-b0dy"
	var logs syncBuffer
	cfg := testConfig(t)
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b := open(t, cfg)
	if _, err := b.Serve("p", func(context.Context, bus.Request) (any, error) { panic("handler bug") }); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe("s.#", func(context.Context, bus.Event) { panic("handler bug") }); err != nil {
		t.Fatal(err)
	}
	_ = b.Call(context.Background(), "p", "m", map[string]string{"token": secret}, nil)
	_ = b.Publish(context.Background(), "s.t", map[string]string{"token": secret})
	waitFor(t, "both panics logged", func() bool { return strings.Count(logs.String(), "panicked") >= 2 })
	gen := b.Generation()
	b.DropConnection() // connection-loss reports must not carry bodies either
	waitFor(t, "reconnect", func() bool { return b.Generation() > gen })
	if strings.Contains(logs.String(), secret) {
		t.Fatalf("a message body reached the log:\n%s", logs.String())
	}
}

func BenchmarkCall(b *testing.B) {
	cfg := testConfig(b)
	server, client := open(b, cfg), open(b, cfg)
	type msg struct {
		Room string `json:"room"`
		N    int    `json:"n"`
	}
	if _, err := server.Serve("bench", func(_ context.Context, req bus.Request) (any, error) {
		var m msg
		return m, req.Decode(&m)
	}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := client.Call(ctx, "bench", "m", msg{Room: "r", N: i}, nil); err != nil {
			b.Fatal(err)
		}
	}
}
