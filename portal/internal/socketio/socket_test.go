package socketio

import (
	"encoding/json"
	"errors"
	"net/http"
	"runtime"
	"strconv"
	"testing"
	"time"
)

func TestSocketRateLimit(t *testing.T) {
	rec := newRecorder()
	cfg := Config{MaxEventsPerSecond: 5, EventBurst: 10}
	_, base := startServer(t, cfg, rec.install)
	c := wsConnectV4(t, base)
	for i := range 40 {
		c.send(`42["ev",` + strconv.Itoa(i) + `]`)
	}
	if r := rec.reason(t, 3*time.Second); r != reasonRateLimit {
		t.Fatalf("reason %q, want %q", r, reasonRateLimit)
	}
	// The burst passes (plus at most a token or two refilled meanwhile); the rest is
	// dropped until the abuse threshold (EventBurst drops) closes the socket.
	if n := len(rec.events); n < 10 || n > 12 {
		t.Errorf("%d events handled, want the burst of 10", n)
	}
}

func TestSocketRateLimiterUnit(t *testing.T) {
	now := time.Unix(0, 0)
	l := newRateLimiter(2, 2, now)
	verdicts := []rateVerdict{l.offer(now), l.offer(now), l.offer(now)}
	if verdicts[0] != rateAllow || verdicts[1] != rateAllow || verdicts[2] != rateDrop {
		t.Fatalf("verdicts %v", verdicts)
	}
	if v := l.offer(now.Add(500 * time.Millisecond)); v != rateAllow {
		t.Errorf("after refill: %v", v)
	}
	if v := l.offer(now.Add(500 * time.Millisecond)); v != rateAbuse {
		t.Errorf("second drop within the window: %v, want abuse", v)
	}
	if newRateLimiter(-1, 0, now).offer(now) != rateAllow {
		t.Error("negative rate must disable the limit")
	}
}

func TestSocketNamespaceRejected(t *testing.T) {
	tests := []struct {
		eio  int
		want string
	}{
		{3, `44/admin,"Invalid namespace"`},
		{4, `44/admin,{"message":"Invalid namespace"}`},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.eio), func(t *testing.T) {
			rec := newRecorder()
			_, base := startServer(t, Config{}, rec.install)
			c := dialWS(t, wsURL(base, tt.eio, ""))
			c.expect("0{")
			if tt.eio == 3 {
				c.expect("40") // implicit connect to "/"
			}
			c.send("40/admin,")
			c.expect(tt.want)
			c.send(`42/admin,["ev",1]`) // ignored: no socket there
			c.send(`42["ev",2]`)        // v4: ignored, not connected to "/" yet
			if tt.eio == 4 {
				c.send("40")
				c.expect(`40{"sid"`)
			}
			c.send(`42["ev",3]`)
			select {
			case args := <-rec.events:
				if want := map[int]string{3: "2", 4: "3"}[tt.eio]; string(args[0]) != want {
					t.Errorf("unexpected event %s", args[0])
				}
			case <-time.After(3 * time.Second):
				t.Fatal("event on / not delivered")
			}
		})
	}
}

func TestSocketBinaryRejected(t *testing.T) {
	for _, frame := range []string{`451-["ev",{"_placeholder":true,"num":0}]`, `461-1[{"_placeholder":true,"num":0}]`, "bAQID"} {
		t.Run(frame, func(t *testing.T) {
			rec := newRecorder()
			_, base := startServer(t, Config{}, rec.install)
			c := wsConnectV4(t, base)
			c.send(frame)
			if r := rec.reason(t, 3*time.Second); r != reasonParseError {
				t.Errorf("reason %q", r)
			}
			if _, err := c.read(3 * time.Second); err == nil {
				t.Error("connection still open")
			}
		})
	}
}

func TestSocketAckSemantics(t *testing.T) {
	errs := make(chan error, 4)
	setup := func(srv *Server) {
		srv.OnConnection(func(s *Socket) {
			s.On("req", func(args []json.RawMessage, ack AckFunc) {
				if ack == nil {
					errs <- errors.New("ack missing")
					return
				}
				errs <- ack("ok", json.RawMessage(`{"raw":1}`))
				errs <- ack("again")
				errs <- s.Emit("disconnect")
			})
			s.On("noack", func(_ []json.RawMessage, ack AckFunc) {
				if ack != nil {
					errs <- errors.New("ack present without ack id")
				}
			})
		})
	}
	_, base := startServer(t, Config{}, setup)
	c := wsConnectV4(t, base)
	c.send(`42["noack",null]`)
	c.send(`4299["req",{"x":1},null]`)
	c.expect(`4399["ok",{"raw":1}]`)
	if err := <-errs; err != nil {
		t.Fatalf("first ack: %v", err)
	}
	if err := <-errs; !errors.Is(err, ErrAckAlreadySent) {
		t.Errorf("second ack: %v", err)
	}
	if err := <-errs; !errors.Is(err, ErrReservedEvent) {
		t.Errorf("reserved emit: %v", err)
	}
	select {
	case err := <-errs:
		t.Errorf("unexpected: %v", err)
	default:
	}
}

func TestSocketSendQueueOverflow(t *testing.T) {
	results := make(chan error, 1)
	rec := newRecorder()
	setup := func(srv *Server) {
		rec.install(srv)
		srv.OnConnection(func(s *Socket) {
			s.OnDisconnect(func(reason string) { rec.reasons <- reason })
			var err error
			for i := 0; i < 100 && err == nil; i++ {
				err = s.Emit("flood", i)
			}
			results <- err
		})
	}
	_, base := startServer(t, Config{SendQueueSize: 8}, setup)
	pollHandshake(t, base, 3) // never polls again: the queue fills up
	select {
	case err := <-results:
		if !errors.Is(err, ErrSendQueueFull) {
			t.Fatalf("Emit error %v, want ErrSendQueueFull", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Emit blocked")
	}
	if r := rec.reason(t, 3*time.Second); r != reasonQueueOverflow {
		t.Errorf("reason %q", r)
	}
}

// A server-side disconnect delivers what was queued before it, then the DISCONNECT, and
// nothing else: the client closes the transport once it has processed them (an Engine.IO
// close right behind an acknowledgement makes socket.io-client 4 drop the acknowledgement).
func TestSocketServerDisconnectDeliveredByPolling(t *testing.T) {
	rec := newRecorder()
	_, base := startServer(t, Config{}, rec.install)
	p, _, _ := pollHandshake(t, base, 4)
	p.post("40")
	s := rec.socket(t)
	p.getUntil("40")
	if err := s.Emit("drop"); err != nil {
		t.Fatal(err)
	}
	s.Disconnect()
	// No GET was pending: the next one collects the packets, without a close.
	_, packets := p.get()
	var got []string
	for _, pk := range packets {
		got = append(got, encodeEnginePacket(pk.typ, pk.data))
	}
	if len(got) != 2 || got[0] != `42["drop"]` || got[1] != "41" {
		t.Errorf("final packets %q", got)
	}
	p.post(`42["ev","ignored after the disconnect"]`)
	p.post("1") // the client closes its transport
	if r := rec.reason(t, 3*time.Second); r != reasonServerDisconnect {
		t.Errorf("reason %q", r)
	}
	if st, _ := p.get(); st != http.StatusBadRequest {
		t.Errorf("GET after the close: %d, want 400", st)
	}
	select {
	case ev := <-rec.events:
		t.Errorf("an event after the disconnect reached the handler: %s", ev)
	default:
	}
}

// A client that does not close after a server-side disconnect is cut after
// DisconnectLinger; its next GET still gets the DISCONNECT, then the close.
func TestSocketServerDisconnectLingerEnds(t *testing.T) {
	rec := newRecorder()
	_, base := startServer(t, Config{DisconnectLinger: 200 * time.Millisecond}, rec.install)
	p, _, _ := pollHandshake(t, base, 4)
	p.post("40")
	s := rec.socket(t)
	p.getUntil("40")
	s.Disconnect()
	if r := rec.reason(t, 3*time.Second); r != reasonServerDisconnect {
		t.Errorf("reason %q", r)
	}
	_, packets := p.get()
	var got []string
	for _, pk := range packets {
		got = append(got, encodeEnginePacket(pk.typ, pk.data))
	}
	if len(got) != 2 || got[0] != "41" || got[1] != "1" {
		t.Errorf("final packets %q", got)
	}
}

func TestSocketHandlerPanicClosesSocket(t *testing.T) {
	rec := newRecorder()
	setup := func(srv *Server) {
		rec.install(srv)
		srv.OnConnection(func(s *Socket) {
			s.On("boom", func([]json.RawMessage, AckFunc) { panic("boom") })
			s.OnDisconnect(func(reason string) { rec.reasons <- reason })
		})
	}
	_, base := startServer(t, Config{}, setup)
	c := wsConnectV4(t, base)
	c.send(`42["boom"]`)
	if r := rec.reason(t, 3*time.Second); r != reasonHandlerPanic {
		t.Errorf("reason %q", r)
	}
}

func TestSocketHandlersRunInOrder(t *testing.T) {
	rec := newRecorder()
	_, base := startServer(t, Config{MaxEventsPerSecond: -1}, rec.install)
	c := wsConnectV4(t, base)
	const n = 200
	for i := range n {
		c.send(`42["ev",` + strconv.Itoa(i) + `]`)
	}
	for i := range n {
		select {
		case args := <-rec.events:
			if string(args[0]) != strconv.Itoa(i) {
				t.Fatalf("event %d carried %s", i, args[0])
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("event %d missing", i)
		}
	}
}

func TestServerNoGoroutineLeak(t *testing.T) {
	base0 := runtime.NumGoroutine()
	func() {
		rec := newRecorder()
		srv, hs := newTestServer(t, Config{}, rec.install)
		base := hs.URL
		for i := range 20 {
			c := wsConnectV4(t, base)
			c.send(`421["ev",` + strconv.Itoa(i) + `]`)
			c.expect("431")
			c.send("41")
			rec.reason(t, 3*time.Second)
			_ = c.ws.CloseNow()

			p, _, _ := pollHandshake(t, base, 3)
			p.post(`42["ev",1]`, "1")
			rec.reason(t, 3*time.Second)
		}
		// Leave live sessions of every kind for Close to clean up.
		wsConnectV4(t, base)
		p, _, _ := pollHandshake(t, base, 4)
		p.post("40")
		p.getUntil("40")
		pollDone := make(chan struct{})
		go func() { // a long-poll pending at Close; errors are irrelevant here
			defer close(pollDone)
			if resp, err := http.Get(pollURL(base, 4, p.sid)); err == nil {
				_ = resp.Body.Close()
			}
		}()
		waitUntil(t, 3*time.Second, "pending poll", func() bool { return pollPending(srv, p.sid) })
		waitUntil(t, 3*time.Second, "sessions", func() bool { return srv.sessionCount() == 2 })
		closeWithin(t, srv, 3*time.Second)
		<-pollDone
		hs.Close()
		http.DefaultClient.CloseIdleConnections()
	}()
	waitGoroutines(t, base0, 0)
}

// pollPending reports whether a long-poll GET is held for the session.
func pollPending(srv *Server, sid string) bool {
	c := srv.lookup(sid)
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pollActive
}
