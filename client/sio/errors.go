package sio

import "errors"

// Sentinel errors of the Socket.IO client.
var (
	// ErrMalformed reports a packet that does not follow Engine.IO v4 / Socket.IO v5 framing.
	ErrMalformed = errors.New("sio: malformed packet")
	// ErrClosed is returned by Emit and Send once the connection has ended.
	ErrClosed = errors.New("sio: connection closed")
	// ErrConnectRefused reports a CONNECT_ERROR answer from the server.
	ErrConnectRefused = errors.New("sio: connect refused")
	// ErrHandshake reports an unexpected first packet from the server.
	ErrHandshake = errors.New("sio: handshake failed")
)
