package bustest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/errs"
)

type echoReq struct {
	Text   string `json:"text"`
	N      int    `json:"n"`
	Secret string `json:"-"` // must never reach the handler: proves JSON on the wire
}

type echoResp struct {
	Method     string `json:"method"`
	Text       string `json:"text"`
	N          int    `json:"n"`
	SecretSeen bool   `json:"secretSeen"`
}

func echo(_ context.Context, req bus.Request) (any, error) {
	var in echoReq
	if err := req.Decode(&in); err != nil {
		return nil, errs.BadRequest(err.Error())
	}
	return echoResp{Method: req.Method, Text: in.Text, N: in.N, SecretSeen: in.Secret != ""}, nil
}

func testCallRoundTrip(t *testing.T, open func(*testing.T) bus.Bus) {
	server, client := open(t), open(t)
	ep := name("echo")
	serve(t, server, ep, echo)
	for i := range 3 {
		var out echoResp
		err := client.Call(ctxFor(t, wait), ep, "say", echoReq{Text: "héllo", N: i}, &out)
		if err != nil {
			t.Fatalf("Call: %v", err)
		}
		if want := (echoResp{Method: "say", Text: "héllo", N: i}); out != want {
			t.Fatalf("reply = %+v, want %+v", out, want)
		}
	}
	// a bus can call an endpoint it serves itself
	var out echoResp
	if err := server.Call(ctxFor(t, wait), ep, "self", echoReq{N: 7}, &out); err != nil || out.N != 7 {
		t.Fatalf("self call = %+v, %v", out, err)
	}
}

func testCallNil(t *testing.T, open func(*testing.T) bus.Bus) {
	server, client := open(t), open(t)
	ep := name("nil")
	got := make(chan string, 1)
	serve(t, server, ep, func(_ context.Context, req bus.Request) (any, error) {
		got <- string(req.Body)
		return nil, nil
	})
	if err := client.Call(ctxFor(t, wait), ep, "m", nil, nil); err != nil {
		t.Fatalf("Call: %v", err)
	}
	if body := recv(t, got, "request"); body != "null" {
		t.Fatalf("body = %q, want null", body)
	}
	var out *echoResp
	if err := client.Call(ctxFor(t, wait), ep, "m", nil, &out); err != nil || out != nil {
		t.Fatalf("Call with nil result = %+v, %v", out, err)
	}
}

func testCallSerialises(t *testing.T, open func(*testing.T) bus.Bus) {
	server, client := open(t), open(t)
	ep := name("ser")
	serve(t, server, ep, echo)
	var out echoResp
	if err := client.Call(ctxFor(t, wait), ep, "m", echoReq{Text: "x", Secret: "s3cret"}, &out); err != nil {
		t.Fatalf("Call: %v", err)
	}
	if out.SecretSeen {
		t.Fatal("a json:\"-\" field reached the handler: the request was not serialised")
	}
	// a request that cannot be encoded fails before it is sent
	if err := client.Call(ctxFor(t, wait), ep, "m", make(chan int), nil); err == nil || bus.IsTransport(err) {
		t.Fatalf("Call(unencodable) = %v, want an encoding error", err)
	}
}

func testCallErrors(t *testing.T, open func(*testing.T) bus.Bus) {
	server, client := open(t), open(t)
	ep := name("err")
	tests := []struct {
		method string
		fail   func() error
		want   *errs.Error
	}{
		{"typed", func() error { return errs.RoomNotFound() }, errs.RoomNotFound()},
		{"custom", func() error { return errs.New(http.StatusTeapot, 4242, "teapot") }, errs.New(418, 4242, "teapot")},
		{"wrapped", func() error { return fmt.Errorf("ctx: %w", errs.Permission()) }, errs.Permission()},
		{"plain", func() error { return errors.New("boom") }, errs.Unexpected("boom")},
		{"panic", func() error { panic("kaboom") }, nil},
	}
	byMethod := make(map[string]func() error)
	for _, tc := range tests {
		byMethod[tc.method] = tc.fail
	}
	serve(t, server, ep, func(_ context.Context, req bus.Request) (any, error) {
		return nil, byMethod[req.Method]()
	})
	for _, tc := range tests {
		t.Run(tc.method, func(t *testing.T) {
			err := client.Call(ctxFor(t, wait), ep, tc.method, nil, nil)
			var got *errs.Error
			if !errors.As(err, &got) {
				t.Fatalf("error %v (%T) is not an *errs.Error", err, err)
			}
			if bus.IsTransport(err) {
				t.Fatalf("remote failure reported as transport error: %v", err)
			}
			want := tc.want
			if want == nil { // panics: only status and code are part of the contract
				want = errs.Unexpected(got.Message)
			}
			if *got != *want {
				t.Fatalf("error = %+v, want %+v", *got, *want)
			}
		})
	}
}

func testCallTimeout(t *testing.T, open func(*testing.T) bus.Bus) {
	server, client := open(t), open(t)
	ep := name("slow")
	serve(t, server, ep, func(ctx context.Context, _ bus.Request) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	start := time.Now()
	err := client.Call(ctxFor(t, 200*time.Millisecond), ep, "m", nil, nil)
	wantSentinel(t, err, bus.ErrTimeout)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("timeout took %v", took)
	}
	if got := bus.ToError(err); got.Code != errs.CodeCluster {
		t.Fatalf("ToError(timeout) = %+v, want code %d", got, errs.CodeCluster)
	}
}

func testCallHandlerDeadline(t *testing.T, open func(*testing.T) bus.Bus) {
	server, client := open(t), open(t)
	ep := name("dl")
	deadlines := make(chan time.Time, 1)
	serve(t, server, ep, func(ctx context.Context, _ bus.Request) (any, error) {
		d, ok := ctx.Deadline()
		if !ok {
			return nil, errors.New("handler context has no deadline")
		}
		deadlines <- d
		return nil, nil
	})
	ctx := ctxFor(t, 1500*time.Millisecond)
	if err := client.Call(ctx, ep, "m", nil, nil); err != nil {
		t.Fatalf("Call: %v", err)
	}
	want, _ := ctx.Deadline()
	if diff := recv(t, deadlines, "deadline").Sub(want).Abs(); diff > 50*time.Millisecond {
		t.Fatalf("handler deadline differs from the caller's by %v", diff)
	}
	// no caller deadline: bus.DefaultTimeout applies
	start := time.Now()
	if err := client.Call(context.Background(), ep, "m", nil, nil); err != nil {
		t.Fatalf("Call: %v", err)
	}
	got := recv(t, deadlines, "deadline").Sub(start)
	if got < bus.DefaultTimeout-100*time.Millisecond || got > bus.DefaultTimeout+100*time.Millisecond {
		t.Fatalf("default handler deadline = %v after the call, want about %v", got, bus.DefaultTimeout)
	}
}

func testCallNoEndpoint(t *testing.T, open func(*testing.T) bus.Bus) {
	client := open(t)
	start := time.Now()
	err := client.Call(ctxFor(t, wait), name("nobody"), "m", nil, nil)
	wantSentinel(t, err, bus.ErrNoEndpoint)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("no-endpoint took %v, want a fast failure", took)
	}
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.CodeCluster || e.Status != http.StatusInternalServerError {
		t.Fatalf("errors.As(no endpoint) = %+v, want a 500/1201 cluster error", e)
	}
}

func testCallAfterServeClosed(t *testing.T, open func(*testing.T) bus.Bus) {
	server, client := open(t), open(t)
	ep := name("gone")
	sub := serve(t, server, ep, echo)
	if err := client.Call(ctxFor(t, wait), ep, "m", nil, nil); err != nil {
		t.Fatalf("Call: %v", err)
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	start := time.Now()
	wantSentinel(t, client.Call(ctxFor(t, wait), ep, "m", nil, nil), bus.ErrNoEndpoint)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("no-endpoint took %v", took)
	}
}

func testLateReply(t *testing.T, open func(*testing.T) bus.Bus) {
	server, client := open(t), open(t)
	ep := name("late")
	serve(t, server, ep, func(ctx context.Context, req bus.Request) (any, error) {
		var in echoReq
		_ = req.Decode(&in)
		if in.N == 1 { // answer after the caller gave up
			<-ctx.Done()
			time.Sleep(100 * time.Millisecond)
			return echoResp{Text: "late"}, nil
		}
		time.Sleep(300 * time.Millisecond) // the late reply arrives while this call waits
		return echoResp{Text: "fresh"}, nil
	})
	wantSentinel(t, client.Call(ctxFor(t, 200*time.Millisecond), ep, "m", echoReq{N: 1}, nil), bus.ErrTimeout)
	var out echoResp
	if err := client.Call(ctxFor(t, wait), ep, "m", echoReq{N: 2}, &out); err != nil || out.Text != "fresh" {
		t.Fatalf("second call = %+v, %v; want the fresh reply", out, err)
	}
}

func testCompetingServers(t *testing.T, open func(*testing.T) bus.Bus) {
	s1, s2, client := open(t), open(t), open(t)
	ep := name("compete")
	var mu sync.Mutex
	seen := make(map[int]int)
	h := func(_ context.Context, req bus.Request) (any, error) {
		var in echoReq
		_ = req.Decode(&in)
		mu.Lock()
		seen[in.N]++
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		return in, nil
	}
	sub1 := serve(t, s1, ep, h)
	serve(t, s2, ep, h)
	const n = 40
	callMany(t, client, ep, n, wait)
	mu.Lock()
	for i := range n {
		if seen[i] != 1 {
			t.Errorf("request %d handled %d times, want exactly once", i, seen[i])
		}
	}
	mu.Unlock()
	_ = sub1.Close() // the other server keeps the endpoint alive
	callMany(t, client, ep, 5, wait)
}

// callMany makes n concurrent calls numbered 0..n-1 and fails the test if any fails.
func callMany(t *testing.T, b bus.Bus, ep string, n int, d time.Duration) {
	t.Helper()
	errc := make(chan error, n)
	for i := range n {
		go func() { errc <- b.Call(ctxFor(t, d), ep, "m", echoReq{N: i}, nil) }()
	}
	for range n {
		if err := recv(t, errc, "call result"); err != nil {
			t.Fatalf("Call: %v", err)
		}
	}
}

func testConcurrencyBounded(t *testing.T, open func(*testing.T) bus.Bus) {
	server, client := open(t), open(t)
	ep := name("bound")
	var inFlight, peak atomic.Int64
	release := make(chan struct{})
	serve(t, server, ep, func(context.Context, bus.Request) (any, error) {
		n := inFlight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		inFlight.Add(-1)
		return nil, nil
	})
	unblock := sync.OnceFunc(func() { close(release) })
	t.Cleanup(unblock) // runs before the subscription's cleanup, which waits for handlers
	const limit, calls = 64, 100
	done := make(chan error, calls)
	for range calls {
		go func() { done <- client.Call(ctxFor(t, 3*wait), ep, "m", nil, nil) }()
	}
	eventually(t, "64 handlers in flight", func() bool { return inFlight.Load() >= limit })
	time.Sleep(200 * time.Millisecond) // give an unbounded implementation time to overshoot
	if p := peak.Load(); p != limit {
		t.Fatalf("peak handlers in flight = %d, want %d", p, limit)
	}
	unblock()
	for range calls {
		if err := recv(t, done, "call result"); err != nil {
			t.Fatalf("Call: %v", err)
		}
	}
}

func testServeCloseCancels(t *testing.T, open func(*testing.T) bus.Bus) {
	server, client := open(t), open(t)
	ep := name("cancel")
	started := make(chan struct{})
	var returned atomic.Bool
	sub := serve(t, server, ep, func(ctx context.Context, _ bus.Request) (any, error) {
		close(started)
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // Close must wait for this
		returned.Store(true)
		return nil, ctx.Err()
	})
	callErr := make(chan error, 1)
	go func() { callErr <- client.Call(ctxFor(t, 3*wait), ep, "m", nil, nil) }()
	recv(t, started, "handler start")
	within(t, wait, "Subscription.Close", func() { _ = sub.Close() })
	if !returned.Load() {
		t.Fatal("Close returned before the running handler")
	}
	if err := recv(t, callErr, "call result"); err == nil {
		t.Fatal("call whose handler was cancelled succeeded")
	}
}

func testClosedBus(t *testing.T, open func(*testing.T) bus.Bus) {
	b := open(t)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := ctxFor(t, wait)
	nop := func(context.Context, bus.Event) {}
	_, serveErr := b.Serve(name("x"), echo)
	_, subErr := b.Subscribe("x.#", nop)
	_, qErr := b.SubscribeQueue(name("q"), "x.#", nop)
	for what, err := range map[string]error{
		"Call":           b.Call(ctx, name("x"), "m", nil, nil),
		"Publish":        b.Publish(ctx, "x.y", 1),
		"Serve":          serveErr,
		"Subscribe":      subErr,
		"SubscribeQueue": qErr,
	} {
		if !errors.Is(err, bus.ErrClosed) {
			t.Errorf("%s on a closed bus = %v, want ErrClosed", what, err)
		}
	}
}

func testCloseFailsPending(t *testing.T, open func(*testing.T) bus.Bus) {
	server, client := open(t), open(t)
	ep := name("pending")
	started := make(chan struct{}, 1)
	serve(t, server, ep, func(ctx context.Context, _ bus.Request) (any, error) {
		started <- struct{}{}
		<-ctx.Done()
		return nil, nil
	})
	callErr := make(chan error, 1)
	go func() { callErr <- client.Call(ctxFor(t, 3*wait), ep, "m", nil, nil) }()
	recv(t, started, "handler start")
	start := time.Now()
	_ = client.Close()
	wantSentinel(t, recv(t, callErr, "call result"), bus.ErrClosed)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("pending call took %v to fail after Close", took)
	}
}
