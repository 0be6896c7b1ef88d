package sio

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/coder/websocket"
)

// readLoop reads frames until the connection ends, answering pings, resolving acks and
// queueing events for the dispatcher.
func (c *Conn) readLoop() {
	defer close(c.readDone)
	for {
		msg, err := c.readFrame()
		if err != nil {
			c.shutdown(readFailure(err))
			return
		}
		if reason := c.handleFrame(msg); reason != "" {
			c.shutdown(reason)
			return
		}
	}
}

// readFrame reads one frame, failing when the server stays silent longer than its
// announced ping interval plus ping timeout.
func (c *Conn) readFrame() (string, error) {
	ctx := context.Background()
	if c.heartbeat > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.heartbeat)
		defer cancel()
	}
	return c.read(ctx)
}

// readFailure maps a read error to a disconnect reason.
func readFailure(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonPingTimeout
	case errors.Is(err, ErrMalformed):
		return ReasonParseError
	case websocket.CloseStatus(err) != -1:
		return ReasonTransportClose
	default:
		return ReasonTransportError
	}
}

// handleFrame processes one Engine.IO packet; a non-empty result ends the connection.
func (c *Conn) handleFrame(msg string) string {
	if msg == "" {
		return ReasonParseError
	}
	switch msg[0] {
	case enginePing:
		if c.write(string(enginePong)+msg[1:]) != nil {
			return ReasonTransportError
		}
	case engineClose:
		return ReasonTransportClose
	case engineMessage:
		return c.handlePacket(msg[1:])
	case engineNoop, enginePong, engineOpen, engineUpgrade:
	default:
		return ReasonParseError
	}
	return ""
}

// handlePacket processes one Socket.IO packet of the default namespace.
func (c *Conn) handlePacket(s string) string {
	p, err := decodePacket(s)
	if err != nil {
		return ReasonParseError
	}
	if p.nsp != "" {
		return ""
	}
	switch p.typ {
	case packetAck:
		c.resolveAck(p.id, p.args)
	case packetEvent:
		return c.enqueue(p)
	case packetDisconnect, packetConnectError:
		return ReasonServerDisconnect
	}
	return ""
}

func (c *Conn) resolveAck(id int64, args []json.RawMessage) {
	c.mu.Lock()
	ch, ok := c.acks[id]
	delete(c.acks, id)
	c.mu.Unlock()
	if ok {
		ch <- args // buffered, one ack per id
	}
}

func (c *Conn) enqueue(p packet) string {
	c.mu.Lock()
	if len(c.queue) >= c.maxQueue {
		c.mu.Unlock()
		return ReasonQueueOverflow
	}
	c.queue = append(c.queue, p)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return ""
}

// dispatchLoop runs event handlers in order. After the connection ends it delivers what
// was already queued (e.g. a "drop" just before the server closed) and returns.
func (c *Conn) dispatchLoop() {
	defer close(c.dispatched)
	for {
		select {
		case <-c.wake:
			c.dispatchQueued()
		case <-c.readDone:
			c.dispatchQueued()
			return
		}
	}
}

func (c *Conn) dispatchQueued() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.mu.Unlock()
			return
		}
		p := c.queue[0]
		c.queue[0] = packet{}
		c.queue = c.queue[1:]
		hs := slices.Clone(c.handlers[p.event])
		c.mu.Unlock()
		c.dispatching.Store(true)
		for _, h := range hs {
			h(p.args)
		}
		c.dispatching.Store(false)
	}
}
