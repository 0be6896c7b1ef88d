package socketio

import (
	"encoding/json"
	"errors"
)

// onMessage handles the Socket.IO packet carried by an Engine.IO message.
func (c *conn) onMessage(data string) {
	p, err := decodeSocketPacket(data)
	if err != nil {
		c.log.Debug("socket.io packet rejected, closing", "err", err, "binary", errors.Is(err, ErrBinaryUnsupported))
		c.close(reasonParseError, false)
		return
	}
	if p.namespace != defaultNamespace {
		if p.typ == sioConnect {
			c.rejectNamespace(p.namespace)
		}
		return
	}
	switch p.typ {
	case sioConnect:
		c.connectSocket(p.data)
	case sioDisconnect:
		c.close(reasonClientDisconnect, false)
	case sioEvent:
		if s := c.socket(); s != nil && !c.isLingering() {
			s.receive(p)
		}
	case sioAck:
		// The server never requests acknowledgements, so there is nothing to match.
	default:
		c.close(reasonParseError, false)
	}
}

// socket returns the connected Socket, or nil before the namespace CONNECT.
func (c *conn) socket() *Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sock
}

// connectSocket joins the default namespace: it creates the Socket, queues the CONNECT
// answer ("40" for v3, `40{"sid":…}` for v4) and starts the handler goroutine, which
// calls the OnConnection callback before any event. A repeated CONNECT is answered
// again without creating a second socket.
func (c *conn) connectSocket(auth json.RawMessage) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	existing := c.sock
	if existing == nil {
		c.sock = newSocket(c, auth)
		if c.connectTimer != nil {
			c.connectTimer.Stop()
		}
	}
	s := c.sock
	c.mu.Unlock()
	if err := c.sendMessage(c.connectAnswer()); err != nil || existing != nil {
		return
	}
	onConnection := c.srv.connectionHandler()
	if !c.srv.spawn(func() { s.run(onConnection) }) {
		c.close(reasonServerShutdown, false)
	}
}

// connectAnswer renders the namespace CONNECT reply for the client's protocol.
func (c *conn) connectAnswer() string {
	p := socketPacket{typ: sioConnect}
	if c.protocol == protocolV4 {
		data, _ := json.Marshal(map[string]string{"sid": c.socketID}) // cannot fail
		p.data = data
	}
	return encodeSocketPacket(p)
}

// rejectNamespace answers a CONNECT to any namespace other than "/" with a
// CONNECT_ERROR, in the payload shape each client generation expects.
func (c *conn) rejectNamespace(nsp string) {
	var data []byte
	if c.protocol == protocolV3 {
		data, _ = json.Marshal("Invalid namespace")
	} else {
		data, _ = json.Marshal(map[string]string{"message": "Invalid namespace"})
	}
	_ = c.sendMessage(encodeSocketPacket(socketPacket{typ: sioConnectError, namespace: nsp, data: data}))
}
