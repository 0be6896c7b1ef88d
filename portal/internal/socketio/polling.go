package socketio

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// pollAdmission is the outcome of admitting a polling request to a session.
type pollAdmission int

const (
	pollAdmitted pollAdmission = iota
	pollWrongTransport
	pollOverlap
)

// beginRequest admits a GET (get=true) or POST on a polling session. Overlapping
// requests of the same kind are a client bug that engine.io answers by closing.
func (c *conn) beginRequest(get bool) pollAdmission {
	c.mu.Lock()
	defer c.mu.Unlock()
	active := &c.postActive
	if get {
		active = &c.pollActive
	}
	switch {
	case c.transport != transportPolling:
		return pollWrongTransport
	case *active:
		return pollOverlap
	}
	*active = true
	return pollAdmitted
}

// endRequest releases the admission taken by beginRequest.
func (c *conn) endRequest(get bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if get {
		c.pollActive = false
	} else {
		c.postActive = false
	}
}

// admit runs beginRequest and answers rejected requests.
func (c *conn) admit(w http.ResponseWriter, get bool) bool {
	switch c.beginRequest(get) {
	case pollWrongTransport:
		writeEngineError(w, errBadRequest)
		return false
	case pollOverlap:
		writeEngineError(w, errBadRequest)
		c.log.Debug("socket.io overlapping polling request, closing")
		c.close(reasonPollOverlap, false)
		return false
	}
	return true
}

// handlePoll serves a long-poll GET: it is held until packets are queued, the session
// closes (the answer then ends with a close packet), an upgrade probe succeeded (noop,
// so the client can pause polling) or PingInterval elapsed (noop).
func (c *conn) handlePoll(w http.ResponseWriter, r *http.Request) {
	if !c.admit(w, true) {
		return
	}
	defer c.endRequest(true)
	packets, final := c.awaitOutgoing(r.Context())
	if packets == nil {
		return // the client went away; queued packets stay for the next GET
	}
	writePollingBody(w, http.StatusOK, encodePayload(c.protocol, packets))
	if final {
		c.srv.forget(c)
	}
}

// awaitOutgoing blocks until a long-poll answer is ready; nil means ctx ended first.
// final reports that the answer closes the session.
func (c *conn) awaitOutgoing(ctx context.Context) (packets []string, final bool) {
	hold := time.NewTimer(c.cfg.PingInterval)
	defer hold.Stop()
	for {
		if packets, final, ok := c.pollReady(); ok {
			return packets, final
		}
		select {
		case <-c.wake:
		case <-c.ctx.Done():
		case <-hold.C:
			return []string{encodeEnginePacket(engineNoop, "")}, false
		case <-ctx.Done():
			return nil, false
		}
	}
}

// pollReady returns the answer for a pending long-poll, if one is due.
func (c *conn) pollReady() (packets []string, final, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	noop := []string{encodeEnginePacket(engineNoop, "")}
	switch {
	case c.transport != transportPolling:
		return noop, false, true
	case c.closed:
		packets = append(c.outbox, encodeEnginePacket(engineClose, ""))
		c.outbox = nil
		return packets, true, true
	case len(c.outbox) > 0:
		packets = c.outbox
		c.outbox = nil
		return packets, false, true
	case c.probed:
		return noop, false, true
	}
	return nil, false, false
}

// handlePost reads a polling POST body and processes its packets in order. The answer
// is sent after processing, so a slow handler goroutine slows the client down instead
// of growing buffers.
func (c *conn) handlePost(w http.ResponseWriter, r *http.Request) {
	if !c.admit(w, false) {
		return
	}
	defer c.endRequest(false)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(c.cfg.MaxPollingBodyBytes)))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeEngineError(w, errPayloadTooLarge)
			c.close(reasonMessageTooBig, false)
			return
		}
		writeEngineError(w, errBadRequest)
		c.close(reasonTransportError, false)
		return
	}
	packets, err := decodePayload(c.protocol, string(body))
	if err != nil {
		c.log.Debug("socket.io polling payload rejected, closing", "err", err)
		writeEngineError(w, errBadRequest)
		c.close(reasonParseError, false)
		return
	}
	for _, p := range packets {
		if !c.handlePacket(p) {
			break
		}
	}
	writePollingBody(w, http.StatusOK, "ok")
}

// writePollingBody sends a text polling answer.
func writePollingBody(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
