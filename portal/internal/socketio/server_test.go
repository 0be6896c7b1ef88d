package socketio

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEngineErrorAnswers(t *testing.T) {
	cfg := Config{AllowedOrigins: []string{"https://app.example"}}
	_, base := startServer(t, cfg, nil)
	tests := []struct {
		name   string
		method string
		query  string
		origin string
		status int
		body   string
	}{
		{"unknown sid", "GET", "EIO=4&transport=polling&sid=nope", "", 400, `{"code":1,"message":"Session ID unknown"}`},
		{"unknown sid v3 post", "POST", "EIO=3&transport=polling&sid=nope", "", 400, `{"code":1,"message":"Session ID unknown"}`},
		{"unknown sid websocket", "GET", "EIO=4&transport=websocket&sid=nope", "", 400, `{"code":1,"message":"Session ID unknown"}`},
		{"bad transport", "GET", "EIO=4&transport=flashsocket", "", 400, `{"code":0,"message":"Transport unknown"}`},
		{"jsonp", "GET", "EIO=3&transport=polling&j=0", "", 400, `{"code":0,"message":"Transport unknown"}`},
		{"handshake by post", "POST", "EIO=4&transport=polling", "", 400, `{"code":2,"message":"Bad handshake method"}`},
		{"protocol 2", "GET", "EIO=2&transport=polling", "", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"no protocol", "GET", "transport=polling", "", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"foreign origin", "GET", "EIO=4&transport=polling", "https://evil.example", 403, `{"code":4,"message":"Forbidden"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			status, body, hdr := httpDo(t, tt.method, base+"/socket.io/?"+tt.query, "", h)
			if status != tt.status || body != tt.body {
				t.Errorf("got %d %s, want %d %s", status, body, tt.status, tt.body)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestEngineHandshakePolling(t *testing.T) {
	_, base := startServer(t, Config{PingInterval: 7 * time.Second, PingTimeout: 3 * time.Second}, nil)
	tests := []struct {
		eio        int
		maxPayload int
		after      []enginePacket
	}{
		{3, 0, []enginePacket{{engineMessage, "0"}}}, // v3: implicit namespace connect
		{4, 1_000_000, nil},
	}
	for _, tt := range tests {
		t.Run("EIO"+string(rune('0'+tt.eio)), func(t *testing.T) {
			_, info, after := pollHandshake(t, base, tt.eio)
			if len(info.SID) != 20 || strings.Trim(info.SID, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
				t.Errorf("sid %q is not 20 URL-safe characters", info.SID)
			}
			if len(info.Upgrades) != 1 || info.Upgrades[0] != "websocket" {
				t.Errorf("upgrades %v", info.Upgrades)
			}
			if info.PingInterval != 7000 || info.PingTimeout != 3000 || info.MaxPayload != tt.maxPayload {
				t.Errorf("handshake %+v", info)
			}
			if len(after) != len(tt.after) || (len(after) > 0 && after[0] != tt.after[0]) {
				t.Errorf("packets after open: %+v, want %+v", after, tt.after)
			}
		})
	}
}

func TestEngineHandshakeWebSocketOnly(t *testing.T) {
	_, base := startServer(t, Config{}, nil)
	c := dialWS(t, wsURL(base, 3, ""))
	var info handshakeInfo
	if err := json.Unmarshal([]byte(c.expect("0{")[1:]), &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Upgrades) != 0 || info.MaxPayload != 0 {
		t.Errorf("websocket-only v3 handshake %+v", info)
	}
	c.expect("40") // implicit connect for v3
}

func TestEngineCORS(t *testing.T) {
	_, base := startServer(t, Config{}, nil)
	h := http.Header{}
	h.Set("Origin", "https://app.example")
	h.Set("Access-Control-Request-Headers", "content-type")
	status, _, hdr := httpDo(t, http.MethodOptions, pollURL(base, 4, ""), "", h)
	if status != http.StatusNoContent {
		t.Errorf("preflight status %d", status)
	}
	if hdr.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		hdr.Get("Access-Control-Allow-Credentials") != "true" ||
		hdr.Get("Access-Control-Allow-Headers") != "content-type" ||
		!strings.Contains(hdr.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight headers %v", hdr)
	}
	status, _, hdr = httpDo(t, http.MethodGet, pollURL(base, 4, ""), "", h)
	if status != http.StatusOK || hdr.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("GET %d headers %v", status, hdr)
	}
}

func TestEnginePollingFlowV4(t *testing.T) {
	rec := newRecorder()
	_, base := startServer(t, Config{}, rec.install)
	p, _, _ := pollHandshake(t, base, 4)
	if st := p.post("40"); st != http.StatusOK {
		t.Fatalf("POST 40: %d", st)
	}
	s := rec.socket(t)
	connect := p.getUntil("40")
	if connect.data != `0{"sid":"`+s.ID()+`"}` {
		t.Errorf("connect answer %q", connect.data)
	}
	if st := p.post(`427["ev","h\u00e9 🎉",null]`); st != http.StatusOK {
		t.Fatalf("POST event: %d", st)
	}
	ack := p.getUntil("437")
	if ack.data != `37["ok",["h\u00e9 🎉",null]]` {
		t.Errorf("ack %q", ack.data)
	}
	// A held long-poll is released as soon as something is queued.
	done := make(chan enginePacket, 1)
	go func() { done <- p.getUntil("42") }()
	time.Sleep(100 * time.Millisecond)
	if err := s.Emit("news", "x"); err != nil {
		t.Fatal(err)
	}
	select {
	case pk := <-done:
		if pk.data != `2["news","x"]` {
			t.Errorf("event %q", pk.data)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("long-poll not released by Emit")
	}
	p.post("41")
	if r := rec.reason(t, 3*time.Second); r != reasonClientDisconnect {
		t.Errorf("reason %q", r)
	}
}

func TestEngineLongPollHeldUntilPingInterval(t *testing.T) {
	cfg := Config{PingInterval: 300 * time.Millisecond, PingTimeout: 5 * time.Second}
	_, base := startServer(t, cfg, nil)
	p, _, _ := pollHandshake(t, base, 3)
	start := time.Now()
	_, packets := p.get()
	if len(packets) != 1 || packets[0].typ != engineNoop {
		t.Fatalf("held poll answered %+v", packets)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 2*time.Second {
		t.Errorf("poll held %v, want about PingInterval", d)
	}
}

func TestEngineConcurrentPollRejected(t *testing.T) {
	rec := newRecorder()
	_, base := startServer(t, Config{PingInterval: 2 * time.Second}, rec.install)
	p, _, _ := pollHandshake(t, base, 3)
	rec.socket(t)
	first := make(chan []enginePacket, 1)
	go func() { _, pk := p.get(); first <- pk }()
	time.Sleep(100 * time.Millisecond)
	if st, _ := p.get(); st != http.StatusBadRequest {
		t.Errorf("overlapping GET status %d, want 400", st)
	}
	if r := rec.reason(t, 3*time.Second); r != reasonPollOverlap {
		t.Errorf("reason %q", r)
	}
	if pk := <-first; len(pk) == 0 || pk[len(pk)-1].typ != engineClose {
		t.Errorf("first GET got %+v, want a close packet", pk)
	}
}

func TestEngineUpgradeReleasesPollWithNoop(t *testing.T) {
	rec := newRecorder()
	_, base := startServer(t, Config{PingInterval: 5 * time.Second}, rec.install)
	p, _, _ := pollHandshake(t, base, 4)
	p.post("40")
	s := rec.socket(t)
	p.getUntil("40")
	held := make(chan []enginePacket, 1)
	go func() { _, pk := p.get(); held <- pk }()
	time.Sleep(100 * time.Millisecond)
	c := dialWS(t, wsURL(base, 4, p.sid))
	c.send("2probe")
	c.expect("3probe")
	select {
	case pk := <-held:
		if len(pk) != 1 || pk[0].typ != engineNoop {
			t.Errorf("held poll got %+v, want noop", pk)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("held poll not released by probe")
	}
	c.send("5")
	waitUntil(t, 2*time.Second, "websocket transport", func() bool { return s.Transport() == "websocket" })
	if err := s.Emit("after", 1); err != nil {
		t.Fatal(err)
	}
	c.expect(`42["after",1]`)
	if st, _ := p.get(); st != http.StatusBadRequest {
		t.Errorf("GET after upgrade: %d, want 400", st)
	}
}

func TestEngineHeartbeat(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, base string)
	}{
		{"v4 silent client times out", func(t *testing.T, base string) {
			c := wsConnectV4(t, base)
			if s, err := c.read(2 * time.Second); err != nil || s != "2" {
				t.Fatalf("want ping, got %q %v", s, err)
			}
			// no pong: the server must close the websocket
			if _, err := c.read(3 * time.Second); err == nil {
				t.Fatal("connection still open after missing pong")
			}
		}},
		{"v3 silent client times out", func(t *testing.T, base string) {
			c := dialWS(t, wsURL(base, 3, ""))
			c.expect("0{")
			c.expect("40")
			c.send("2")
			c.expect("3")
			if _, err := c.read(3 * time.Second); err == nil {
				t.Fatal("connection still open after missing pings")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			_, base := startServer(t, fastConfig(), rec.install)
			tt.run(t, base)
			if r := rec.reason(t, 3*time.Second); r != reasonPingTimeout {
				t.Errorf("reason %q, want ping timeout", r)
			}
		})
	}
}

func TestEngineHeartbeatKeepsAlive(t *testing.T) {
	rec := newRecorder()
	_, base := startServer(t, fastConfig(), rec.install)
	v4 := wsConnectV4(t, base)
	v3 := dialWS(t, wsURL(base, 3, ""))
	v3.expect("0{")
	v3.expect("40")
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // v4: answer server pings
		defer wg.Done()
		for end := time.Now().Add(time.Second); time.Now().Before(end); {
			if s, err := v4.read(time.Second); err == nil && s == "2" {
				_ = v4.ws.Write(t.Context(), 1, []byte("3"))
			}
		}
	}()
	go func() { // v3: ping every 100 ms
		defer wg.Done()
		for end := time.Now().Add(time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			_ = v3.ws.Write(t.Context(), 1, []byte("2"))
		}
	}()
	wg.Wait()
	select {
	case r := <-rec.reasons:
		t.Fatalf("socket closed despite heartbeats: %q", r)
	default:
	}
}

func TestEngineOversizedMessage(t *testing.T) {
	cfg := Config{MaxMessageBytes: 1024, MaxPollingBodyBytes: 4096}
	big := `42["ev","` + strings.Repeat("x", 2000) + `"]`
	tests := []struct {
		name string
		run  func(t *testing.T, base string)
	}{
		{"websocket frame", func(t *testing.T, base string) {
			c := wsConnectV4(t, base)
			c.send(big)
			if _, err := c.read(3 * time.Second); err == nil {
				t.Fatal("connection still open")
			}
		}},
		{"packet in polling body", func(t *testing.T, base string) {
			p, _, _ := pollHandshake(t, base, 3)
			p.post(big)
		}},
		{"polling body", func(t *testing.T, base string) {
			p, _, _ := pollHandshake(t, base, 3)
			parts := make([]string, 8)
			for i := range parts {
				parts[i] = `42["ev","` + strings.Repeat("y", 900) + `"]`
			}
			if st := p.post(parts...); st != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d, want 413", st)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			_, base := startServer(t, cfg, rec.install)
			tt.run(t, base)
			if r := rec.reason(t, 3*time.Second); r != reasonMessageTooBig {
				t.Errorf("reason %q, want %q", r, reasonMessageTooBig)
			}
			if len(rec.events) != 0 {
				t.Error("oversized event reached the handler")
			}
		})
	}
}

func TestServerCloseReleasesLongPoll(t *testing.T) {
	rec := newRecorder()
	srv, base := startServer(t, Config{PingInterval: 10 * time.Second}, rec.install)
	p, _, _ := pollHandshake(t, base, 3)
	rec.socket(t)
	got := make(chan []enginePacket, 1)
	go func() { _, pk := p.get(); got <- pk }()
	time.Sleep(100 * time.Millisecond)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case pk := <-got:
		if len(pk) == 0 || pk[len(pk)-1].typ != engineClose {
			t.Errorf("poll got %+v, want close packet", pk)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("long-poll not released by Close")
	}
	if r := rec.reason(t, time.Second); r != reasonServerShutdown {
		t.Errorf("reason %q", r)
	}
	if st, _, _ := httpDo(t, http.MethodGet, pollURL(base, 4, ""), "", nil); st != http.StatusServiceUnavailable {
		t.Errorf("handshake after Close: %d", st)
	}
}

func TestServerConfigValidate(t *testing.T) {
	if _, err := NewServer(Config{PingInterval: -1}, nil); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "PingInterval") {
		t.Errorf("err = %v", err)
	}
	if _, err := NewServer(Config{AllowedOrigins: []string{""}}, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("err = %v", err)
	}
	srv, err := NewServer(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Config(); got.PingInterval != 25*time.Second || got.MaxMessageBytes != 64<<10 || got.AllowedOrigins[0] != "*" {
		t.Errorf("defaults not applied: %+v", got)
	}
}

func TestEnginePendingSessionLimits(t *testing.T) {
	const refused = `{"code":3,"message":"Too many unauthenticated sessions"}`
	handshake := func(base, transport string) (int, string) {
		status, body, _ := httpDo(t, http.MethodGet, base+"/socket.io/?EIO=3&transport="+transport, "", nil)
		return status, body
	}
	t.Run("per address", func(t *testing.T) {
		rec := newRecorder()
		_, base := startServer(t, Config{MaxPendingPerAddress: 3, MaxPending: 100}, rec.install)
		polls := make([]*rawPoll, 3)
		for i := range polls {
			polls[i], _, _ = pollHandshake(t, base, 3) // v3: connected to "/" at once
		}
		for _, transport := range []string{"polling", "websocket"} {
			if status, body := handshake(base, transport); status != http.StatusTooManyRequests || body != refused {
				t.Fatalf("%s handshake beyond the limit: %d %s", transport, status, body)
			}
		}
		rec.socket(t).Authenticate() // a logged-in session frees its slot
		pollHandshake(t, base, 3)
		if status, _ := handshake(base, "polling"); status != http.StatusTooManyRequests {
			t.Fatalf("limit not restored: %d", status)
		}
		if st := polls[2].post("1"); st != http.StatusOK { // a closed session frees its slot
			t.Fatalf("close: %d", st)
		}
		waitUntil(t, 5*time.Second, "slot of the closed session", func() bool {
			status, _ := handshake(base, "polling")
			return status == http.StatusOK
		})
	})
	t.Run("total", func(t *testing.T) {
		_, base := startServer(t, Config{MaxPendingPerAddress: -1, MaxPending: 2}, nil)
		pollHandshake(t, base, 4)
		pollHandshake(t, base, 4)
		if status, body := handshake(base, "polling"); status != http.StatusTooManyRequests || body != refused {
			t.Fatalf("handshake beyond the total: %d %s", status, body)
		}
	})
	t.Run("unlimited", func(t *testing.T) {
		_, base := startServer(t, Config{MaxPendingPerAddress: -1, MaxPending: -1}, nil)
		for range 300 {
			pollHandshake(t, base, 4)
		}
	})
}
