package socketio

import "errors"

// Sentinel errors returned by this package. Callers compare them with errors.Is.
var (
	// ErrClosed is returned when sending on a socket whose connection is closed.
	ErrClosed = errors.New("socketio: socket closed")
	// ErrSendQueueFull is returned by Emit and ack functions when the socket's bounded
	// outgoing queue overflowed; the socket is closed when this happens.
	ErrSendQueueFull = errors.New("socketio: send queue full")
	// ErrAckAlreadySent is returned when an acknowledgement function is called twice.
	ErrAckAlreadySent = errors.New("socketio: acknowledgement already sent")
	// ErrReservedEvent is returned when emitting an event name reserved by Socket.IO.
	ErrReservedEvent = errors.New("socketio: reserved event name")
	// ErrInvalidConfig is wrapped by Config.Validate errors.
	ErrInvalidConfig = errors.New("socketio: invalid config")

	// ErrMalformedPayload reports an Engine.IO polling payload that cannot be decoded.
	ErrMalformedPayload = errors.New("socketio: malformed payload")
	// ErrMalformedPacket reports an Engine.IO or Socket.IO packet that cannot be decoded.
	ErrMalformedPacket = errors.New("socketio: malformed packet")
	// ErrBinaryUnsupported reports a binary packet; this server speaks JSON text only.
	ErrBinaryUnsupported = errors.New("socketio: binary packets are not supported")
)
