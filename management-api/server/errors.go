package server

import "errors"

// Sentinel errors of package server.
var (
	// ErrConfig: an invalid Config or Deps.
	ErrConfig = errors.New("management api: invalid config")
	// ErrSuperServiceKey: the stored super service has another key than the configured one.
	ErrSuperServiceKey = errors.New("management api: stored super service key differs from the configured key")
	// ErrListening: Listen was called twice.
	ErrListening = errors.New("management api: already listening")
)
