package socketio

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// Websocket write bounds: a peer that does not read for wsWriteTimeout is dropped; on
// server shutdown queued packets get shutdownFlushTimeout.
const (
	wsWriteTimeout       = 10 * time.Second
	shutdownFlushTimeout = time.Second
)

// probe messages of the Engine.IO upgrade handshake.
const (
	probePing = "2probe"
	probePong = "3probe"
)

// acceptWebSocket completes the websocket handshake. Origins were already checked by
// ServeHTTP against AllowedOrigins, so the library's same-origin check is disabled.
func (s *Server) acceptWebSocket(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		s.log.Debug("socket.io websocket accept failed", "err", err)
		return nil, err
	}
	ws.SetReadLimit(int64(s.cfg.MaxMessageBytes))
	return ws, nil
}

// serveWebSocketOnly runs a session that starts directly on websocket (clients with
// transports: ['websocket']). It returns when the websocket is closed.
func (s *Server) serveWebSocketOnly(w http.ResponseWriter, r *http.Request, protocol int) {
	c := newConn(s, protocol, transportWebSocket, r)
	if e := s.register(c); e.status != 0 { // refused before the upgrade, as a polling handshake
		s.log.Debug("socket.io handshake refused", "remote", r.RemoteAddr, "reason", e.message)
		writeEngineError(w, e)
		return
	}
	ws, err := s.acceptWebSocket(w, r)
	if err != nil {
		c.cancel()
		s.forget(c)
		return
	}
	if !s.spawn(func() { c.writeLoop(ws) }) {
		c.close(reasonServerShutdown, false)
		_ = ws.CloseNow()
		return
	}
	c.log.Debug("socket.io session opened", "transport", "websocket")
	c.start()
	c.readLoop(ws)
}

// upgrade moves a polling session to websocket: "2probe" → "3probe" (pending GETs are
// released with a noop so the client can pause polling), then "5" switches transports.
// On failure the websocket is closed and polling simply continues.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request, c *conn) {
	if !c.beginUpgrade() {
		writeEngineError(w, errBadRequest)
		return
	}
	ws, err := s.acceptWebSocket(w, r)
	if err != nil {
		c.endUpgrade(false)
		return
	}
	if !c.probe(ws) {
		c.endUpgrade(false)
		_ = ws.CloseNow()
		return
	}
	if !c.endUpgrade(true) || !s.spawn(func() { c.writeLoop(ws) }) {
		c.close(reasonServerShutdown, false)
		_ = ws.CloseNow()
		return
	}
	c.log.Debug("socket.io session upgraded to websocket")
	c.readLoop(ws)
}

// beginUpgrade marks an upgrade in progress; only one, from polling, is allowed.
func (c *conn) beginUpgrade() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.transport != transportPolling || c.upgrading {
		return false
	}
	c.upgrading = true
	return true
}

// endUpgrade finishes an upgrade attempt; on success the session switches to websocket.
// A session that closed meanwhile switches too if packets are still queued for the client
// (a failed login's answer): once the client has the probe's answer it stops polling and
// sends "5", so the new websocket is the only way left to deliver them (the write loop
// flushes them and closes). Otherwise it reports false.
func (c *conn) endUpgrade(ok bool) bool {
	c.mu.Lock()
	c.upgrading, c.probed = false, false
	switched := ok && (!c.closed || len(c.outbox) > 0)
	if switched {
		c.transport = transportWebSocket
	}
	c.mu.Unlock()
	signal(c.wake)
	return switched
}

// probe runs the upgrade handshake on the new websocket until "5", bounded by
// UpgradeTimeout. It is not cut short when the session closes: a session closed with
// packets still queued completes the upgrade to deliver them (endUpgrade).
func (c *conn) probe(ws *websocket.Conn) bool {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.UpgradeTimeout)
	defer cancel()
	for {
		typ, data, err := ws.Read(ctx)
		if err != nil || typ != websocket.MessageText {
			return false
		}
		switch string(data) {
		case probePing:
			if ws.Write(ctx, websocket.MessageText, []byte(probePong)) != nil {
				return false
			}
			c.mu.Lock()
			c.probed = true
			c.mu.Unlock()
			signal(c.wake)
		case string(engineUpgrade):
			return true
		default:
			return false
		}
	}
}

// readLoop feeds websocket frames to the session until either side closes.
func (c *conn) readLoop(ws *websocket.Conn) {
	for {
		typ, data, err := ws.Read(context.Background())
		if err != nil {
			c.close(readErrorReason(err), false)
			return
		}
		if typ != websocket.MessageText {
			c.close(reasonParseError, false) // binary frames: not supported
			return
		}
		p, err := decodeEnginePacket(string(data))
		if err != nil {
			c.close(reasonParseError, false)
			return
		}
		if !c.handlePacket(p) {
			return
		}
	}
}

// readErrorReason classifies a websocket read error as a close reason.
func readErrorReason(err error) string {
	if errors.Is(err, websocket.ErrMessageTooBig) {
		return reasonMessageTooBig
	}
	if websocket.CloseStatus(err) != -1 {
		return reasonTransportClose
	}
	return reasonTransportError
}

// writeLoop owns all writes on a session's websocket: it drains the outbox, and when
// the session closes it flushes what is left and closes the websocket, which also ends
// readLoop.
func (c *conn) writeLoop(ws *websocket.Conn) {
	for {
		if err := writeAll(ws, c.takeOutbox(), wsWriteTimeout); err != nil {
			c.close(reasonTransportError, false)
			_ = ws.CloseNow()
			return
		}
		select {
		case <-c.wake:
		case <-c.ctx.Done():
			c.finishWebSocket(ws)
			return
		}
	}
}

// finishWebSocket ends a closed session's websocket: a peer that is known to be gone
// is cut at once; on server shutdown queued packets get a short flush and the
// connection is cut (clients reconnect elsewhere) so that Close stays fast; otherwise
// queued packets are flushed and the close handshake is performed (at most 5 s).
func (c *conn) finishWebSocket(ws *websocket.Conn) {
	switch c.reason() {
	case reasonPingTimeout, reasonTransportError, reasonTransportClose, reasonMessageTooBig:
		_ = ws.CloseNow()
		return
	case reasonServerShutdown:
		_ = writeAll(ws, c.takeOutbox(), shutdownFlushTimeout)
		_ = ws.CloseNow()
		return
	}
	if writeAll(ws, c.takeOutbox(), wsWriteTimeout) != nil {
		_ = ws.CloseNow()
		return
	}
	_ = ws.Close(websocket.StatusNormalClosure, "")
}

// writeAll writes packets as text frames within timeout.
func writeAll(ws *websocket.Conn, packets []string, timeout time.Duration) error {
	if len(packets) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, p := range packets {
		if err := ws.Write(ctx, websocket.MessageText, []byte(p)); err != nil {
			return err
		}
	}
	return nil
}
