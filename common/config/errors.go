package config

import "errors"

// ErrInvalid is wrapped by every validation error, whatever key it names.
var ErrInvalid = errors.New("config: invalid")

// InvalidError reports a bad value, naming the YAML key and, when the value came from the
// environment, the variable.
type InvalidError struct {
	Key string // YAML key path, e.g. "management.listen"
	Env string // environment variable the value came from, if any
	Msg string
}

// Error implements error: "key: msg" or "VAR (key): msg".
func (e *InvalidError) Error() string {
	if e.Env != "" {
		return e.Env + " (" + e.Key + "): " + e.Msg
	}
	return e.Key + ": " + e.Msg
}

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *InvalidError) Unwrap() error { return ErrInvalid }
