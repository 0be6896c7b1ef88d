package secret

import "errors"

// Sentinel errors returned (wrapped) by this package.
var (
	// ErrBadKey: key material has the wrong length or encoding, or is all zeros.
	ErrBadKey = errors.New("secret: bad key")
	// ErrKeyFilePerm: the key file can be read or written by group or others.
	ErrKeyFilePerm = errors.New("secret: key file permissions too open")
	// ErrMalformed: a sealed text is not in a form Open understands.
	ErrMalformed = errors.New("secret: malformed sealed text")
	// ErrDecrypt: a sealed text failed authentication (wrong key, wrong additional data or
	// tampering).
	ErrDecrypt = errors.New("secret: decryption failed")
)
