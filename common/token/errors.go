package token

import "errors"

// Sentinel errors of package token.
var (
	// ErrMalformed means the token string is not base64 of a JSON token object.
	ErrMalformed = errors.New("token: malformed token")
	// ErrTooLong means the token string exceeds MaxLen.
	ErrTooLong = errors.New("token: token too long")
)
