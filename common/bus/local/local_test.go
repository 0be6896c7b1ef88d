package local_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/bustest"
	"github.com/conclave-rtc/conclave/common/bus/local"
)

func quietHub(cfg local.Config) *local.Hub {
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return local.NewHub(cfg)
}

func TestBusLocalContract(t *testing.T) {
	hub := quietHub(local.Config{})
	bustest.Run(t, func(*testing.T) bus.Bus { return local.New(hub) })
}

func TestBusLocalEventOverflowDrops(t *testing.T) {
	hub := quietHub(local.Config{EventBuffer: 4})
	b := local.New(hub)
	defer b.Close()
	release := make(chan struct{})
	got := make(chan int, 100)
	sub, err := b.Subscribe("t", func(_ context.Context, ev bus.Event) {
		<-release
		var n int
		_ = ev.Decode(&n)
		got <- n
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	done := make(chan struct{})
	go func() { // at most 1 in the handler and 4 queued; the publisher never blocks
		defer close(done)
		for i := range 10 {
			if err := b.Publish(context.Background(), "t", i); err != nil {
				t.Error(err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a slow subscriber")
	}
	dropped := hub.Dropped()
	if dropped < 5 {
		t.Fatalf("Dropped() = %d, want at least 5", dropped)
	}
	close(release)
	var delivered []int
	for range 10 - int(dropped) {
		select {
		case n := <-got:
			delivered = append(delivered, n)
		case <-time.After(5 * time.Second):
			t.Fatalf("only %v delivered", delivered)
		}
	}
	// drop-head: order is kept and the newest events survive
	for i := 1; i < len(delivered); i++ {
		if delivered[i] <= delivered[i-1] {
			t.Fatalf("delivered %v, want increasing", delivered)
		}
	}
	if last := delivered[len(delivered)-1]; last != 9 {
		t.Fatalf("delivered %v, want the newest event (9) kept", delivered)
	}
}

func TestBusLocalCallOverloaded(t *testing.T) {
	hub := quietHub(local.Config{RequestBuffer: 2})
	b := local.New(hub)
	defer b.Close()
	release := make(chan struct{})
	sub, err := b.Serve("slow", func(context.Context, bus.Request) (any, error) {
		<-release
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	defer close(release) // runs before sub.Close, which waits for the handlers
	errc := make(chan error, 200)
	for range 200 { // 64 handlers + 2 queued (+1 held by the dispatcher) at most
		go func() { errc <- b.Call(context.Background(), "slow", "m", nil, nil) }()
	}
	select {
	case err := <-errc:
		if !errors.Is(err, bus.ErrOverloaded) {
			t.Fatalf("first failure = %v, want ErrOverloaded", err)
		}
	case <-time.After(time.Second):
		t.Fatal("no call failed fast although the queue was full")
	}
}

func TestBusLocalCallerCancel(t *testing.T) {
	b := local.New(quietHub(local.Config{}))
	defer b.Close()
	sub, _ := b.Serve("wait", func(ctx context.Context, _ bus.Request) (any, error) {
		<-ctx.Done()
		return nil, nil
	})
	defer sub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	err := b.Call(ctx, "wait", "m", nil, nil)
	if !errors.Is(err, context.Canceled) || bus.IsTransport(err) {
		t.Fatalf("cancelled call = %v, want context.Canceled and no transport error", err)
	}
}

func BenchmarkCall(b *testing.B) {
	hub := quietHub(local.Config{})
	server, client := local.New(hub), local.New(hub)
	defer server.Close()
	defer client.Close()
	type msg struct {
		Room string `json:"room"`
		N    int    `json:"n"`
	}
	sub, err := server.Serve("bench", func(_ context.Context, req bus.Request) (any, error) {
		var m msg
		return m, req.Decode(&m)
	})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var out msg
		if err := client.Call(ctx, "bench", "m", msg{Room: "r", N: i}, &out); err != nil {
			b.Fatal(err)
		}
	}
}
