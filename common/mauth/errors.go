package mauth

import "errors"

// Sentinel errors of package mauth. The management API answers all of them with OWT's 401
// (code 1101); they exist so that logs and tests can tell the causes apart.
var (
	// ErrNoHeader means the Authorization header is absent or empty.
	ErrNoHeader = errors.New("mauth: no authorization header")
	// ErrMalformed means the header could not be parsed into usable MAuth parameters.
	ErrMalformed = errors.New("mauth: malformed authorization header")
	// ErrReplay means a (service, timestamp, cnonce) triple was already seen in the window.
	ErrReplay = errors.New("mauth: replayed request")
	// ErrStale means the timestamp is outside the accepted window or not a number.
	ErrStale = errors.New("mauth: stale timestamp")
)
