package medialink

import "errors"

// Sentinel errors of the package.
var (
	// ErrFrameTooLarge: a payload longer than MaxPayload.
	ErrFrameTooLarge = errors.New("medialink: frame payload too large")
	// ErrBadFrame: a frame of unknown type or truncated.
	ErrBadFrame = errors.New("medialink: malformed frame")
	// ErrBadTicket: a ticket that does not parse or whose MAC does not verify.
	ErrBadTicket = errors.New("medialink: invalid ticket")
	// ErrTicketExpired: a ticket past its expiry.
	ErrTicketExpired = errors.New("medialink: ticket expired")
	// ErrTicketReused: a ticket redeemed a second time.
	ErrTicketReused = errors.New("medialink: ticket already used")
	// ErrRejected: the exporter refused the link (the message says why).
	ErrRejected = errors.New("medialink: link rejected")
	// ErrClosed: the link or server is closed.
	ErrClosed = errors.New("medialink: closed")
	// ErrConfig: an invalid configuration.
	ErrConfig = errors.New("medialink: invalid config")
)
