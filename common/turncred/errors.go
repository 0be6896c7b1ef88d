package turncred

import "errors"

// Sentinel errors returned by Check.
var (
	// ErrMalformed means the username does not start with "<expiry seconds>" followed by ":" or
	// the end of the name.
	ErrMalformed = errors.New("turncred: malformed username")
	// ErrExpired means the username's expiry has passed.
	ErrExpired = errors.New("turncred: credential expired")
	// ErrNoSecret means the shared secret is empty: anyone could compute the passwords, so no
	// username is accepted.
	ErrNoSecret = errors.New("turncred: empty shared secret")
)
