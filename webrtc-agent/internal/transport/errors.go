package transport

import "errors"

// Sentinel errors. The agent turns them into *errs.Error for the bus.
var (
	// ErrBadSDP: the offer does not parse or lacks what WebRTC needs.
	ErrBadSDP = errors.New("invalid SDP")
	// ErrNoCodec: an accepted m-section offers no acceptable codec.
	ErrNoCodec = errors.New("no proper codec")
	// ErrOperationExists: an operation id is registered twice.
	ErrOperationExists = errors.New("operation exists")
	// ErrOperationNotFound: no such operation on the transport.
	ErrOperationNotFound = errors.New("operation does NOT exist")
	// ErrMidInUse: a track's mid belongs to another live operation.
	ErrMidInUse = errors.New("mid already in use")
	// ErrNotReady: a candidate arrived before any offer.
	ErrNotReady = errors.New("transport locality is NOT ready")
	// ErrClosed: the transport is closed.
	ErrClosed = errors.New("transport closed")
	// ErrBadCandidate: a trickled candidate that does not parse.
	ErrBadCandidate = errors.New("invalid candidate")
	// ErrBadRequest: invalid operation parameters.
	ErrBadRequest = errors.New("invalid request")
)
