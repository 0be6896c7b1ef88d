package turn

import "errors"

// Sentinel errors of package turn.
var (
	// ErrConfig wraps every invalid Config New refuses; the message names the field.
	ErrConfig = errors.New("turn: invalid config")
	// ErrTCPRelay refuses TCP relay allocations (RFC 6062): relays to peers are UDP only.
	ErrTCPRelay = errors.New("turn: TCP relay allocations are not supported")
	// ErrRunning is returned by a second call of Run.
	ErrRunning = errors.New("turn: server already running")

	// errWrongRealm refuses credentials presented for another realm than the server's.
	errWrongRealm = errors.New("wrong realm")
)
