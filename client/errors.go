package client

import (
	"errors"
	"fmt"
)

// Sentinel errors of the client.
var (
	// ErrInvalidToken reports a token that is not base64 JSON with a host string.
	ErrInvalidToken = errors.New("client: invalid token")
	// ErrClosed is returned once the client has been closed (Leave, Close or a drop).
	ErrClosed = errors.New("client: closed")
	// ErrDropped is the close cause when the server sent the "drop" event.
	ErrDropped = errors.New("client: dropped by the server")
	// ErrDisconnected is returned when the signaling connection ended during a request.
	ErrDisconnected = errors.New("client: signaling disconnected")
	// ErrBadResponse reports an acknowledgement or event the client cannot interpret.
	ErrBadResponse = errors.New("client: malformed server response")
	// ErrNoTrack reports a subscription request for a kind the stream does not carry, or
	// a publication without tracks.
	ErrNoTrack = errors.New("client: no such track")
	// ErrSessionClosed is a publication's or subscription's Err after a local Close.
	ErrSessionClosed = errors.New("client: session closed")
)

// ServerError is a request the server answered with ('error', message), or a session the
// server failed with a progress error. Message is the server's text, e.g. "unauthorized".
type ServerError struct {
	Request string // login, publish, soac, … or "progress" for session failures
	Message string
}

// Error implements error.
func (e *ServerError) Error() string {
	return fmt.Sprintf("client: %s: server error: %s", e.Request, e.Message)
}
