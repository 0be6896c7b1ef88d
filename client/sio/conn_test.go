package sio

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/client/internal/siotest"
)

// echoServer starts a test server whose "echo" event acks ("ok", args...) and whose
// "push" event makes the server emit n "tick" events.
func echoServer(t *testing.T, cfg siotest.Config) *siotest.Server {
	t.Helper()
	srv := siotest.New(cfg, func(s *siotest.Socket) {
		s.On("echo", func(args []json.RawMessage, ack siotest.AckFunc) {
			out := []any{"ok"}
			for _, a := range args {
				out = append(out, a)
			}
			ack(out...)
		})
		s.On("push", func(args []json.RawMessage, ack siotest.AckFunc) {
			var n int
			_ = json.Unmarshal(args[0], &n)
			for i := range n {
				_ = s.Emit("tick", i)
			}
			if ack != nil {
				ack("ok")
			}
		})
		s.On("silent", func([]json.RawMessage, siotest.AckFunc) {})
	})
	t.Cleanup(srv.Close)
	return srv
}

func dial(t *testing.T, srv *siotest.Server) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, srv.URL(), Options{})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestSIOEmitAck(t *testing.T) {
	c := dial(t, echoServer(t, siotest.Config{}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i := range 20 {
		ack, err := c.Emit(ctx, "echo", map[string]int{"n": i}, "x")
		if err != nil {
			t.Fatalf("Emit: %v", err)
		}
		if len(ack) != 3 || string(ack[0]) != `"ok"` || string(ack[1]) != `{"n":`+itoa(i)+`}` || string(ack[2]) != `"x"` {
			t.Fatalf("ack %d = %s", i, ack)
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestSIOServerPushInOrder(t *testing.T) {
	c := dial(t, echoServer(t, siotest.Config{}))
	got := make(chan int, 200)
	c.On("tick", func(args []json.RawMessage) {
		var i int
		_ = json.Unmarshal(args[0], &i)
		got <- i
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Send("push", 100); err != nil {
		t.Fatal(err)
	}
	for want := range 100 {
		select {
		case i := <-got:
			if i != want {
				t.Fatalf("tick %d, want %d", i, want)
			}
		case <-ctx.Done():
			t.Fatalf("only %d ticks", want)
		}
	}
}

func TestSIOAnswersPings(t *testing.T) {
	srv := echoServer(t, siotest.Config{PingInterval: 30 * time.Millisecond, PingTimeout: 100 * time.Millisecond})
	c := dial(t, srv)
	sock := <-srv.Accepted()
	deadline := time.Now().Add(5 * time.Second)
	for sock.Pongs.Load() < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("pongs = %d", sock.Pongs.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if c.Reason() != "" {
		t.Fatalf("closed: %s", c.Reason())
	}
}

func TestSIODisconnects(t *testing.T) {
	tests := []struct {
		name   string
		cfg    siotest.Config
		act    func(c *Conn, s *siotest.Socket)
		reason string
	}{
		{"ping timeout", siotest.Config{PingInterval: 50 * time.Millisecond, PingTimeout: 50 * time.Millisecond, NoPings: true},
			func(*Conn, *siotest.Socket) {}, ReasonPingTimeout},
		{"server disconnect", siotest.Config{}, func(_ *Conn, s *siotest.Socket) { s.Disconnect() }, ReasonServerDisconnect},
		{"engine close", siotest.Config{}, func(_ *Conn, s *siotest.Socket) { _ = s.WriteRaw("1") }, ReasonTransportClose},
		{"garbage", siotest.Config{}, func(_ *Conn, s *siotest.Socket) { _ = s.WriteRaw("42{") }, ReasonParseError},
		{"client close", siotest.Config{}, func(c *Conn, _ *siotest.Socket) { _ = c.Close() }, ReasonClientDisconnect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := echoServer(t, tt.cfg)
			c := dial(t, srv)
			sock := <-srv.Accepted()
			tt.act(c, sock)
			select {
			case <-c.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("not closed")
			}
			if c.Reason() != tt.reason {
				t.Fatalf("reason %q, want %q", c.Reason(), tt.reason)
			}
			if _, err := c.Emit(context.Background(), "echo"); !errors.Is(err, ErrClosed) {
				t.Fatalf("Emit after close = %v", err)
			}
			select {
			case <-sock.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("server socket not closed")
			}
		})
	}
}

func TestSIOEmitContextAndClose(t *testing.T) {
	c := dial(t, echoServer(t, siotest.Config{}))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Emit(ctx, "silent"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Emit = %v, want deadline", err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Emit(context.Background(), "silent")
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	_ = c.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("pending Emit = %v, want ErrClosed", err)
	}
}

func TestSIOCloseFromHandler(t *testing.T) {
	c := dial(t, echoServer(t, siotest.Config{}))
	closed := make(chan struct{})
	var once sync.Once
	c.On("tick", func([]json.RawMessage) {
		_ = c.Close()
		once.Do(func() { close(closed) })
	})
	if err := c.Send("push", 3); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close from a handler blocked")
	}
}

func TestSIOConnectRefused(t *testing.T) {
	srv := echoServer(t, siotest.Config{RejectConnect: "not welcome"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Dial(ctx, srv.URL(), Options{})
	if !errors.Is(err, ErrConnectRefused) {
		t.Fatalf("Dial = %v", err)
	}
}

func TestSIOWebSocketURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:8080", "ws://127.0.0.1:8080/socket.io/?EIO=4&transport=websocket"},
		{"https://h.example/", "wss://h.example/socket.io/?EIO=4&transport=websocket"},
		{"ws://h:1/custom/?a=b", "ws://h:1/custom/?EIO=4&a=b&transport=websocket"},
		{"wss://[::1]:9", "wss://[::1]:9/socket.io/?EIO=4&transport=websocket"},
	}
	for _, tt := range tests {
		got, err := WebSocketURL(tt.in, "")
		if err != nil || got != tt.want {
			t.Errorf("WebSocketURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"ftp://x", "http://", "://"} {
		if _, err := WebSocketURL(bad, ""); err == nil {
			t.Errorf("WebSocketURL(%q) accepted", bad)
		}
	}
}
