package load

import "errors"

// Sentinel errors of the load tool.
var (
	// ErrUsage reports invalid flags or settings.
	ErrUsage = errors.New("load: invalid settings")
	// ErrHTTP reports a management API answer other than 200.
	ErrHTTP = errors.New("load: management API error")
	// ErrNoStream reports a publication the subscriber never learned about.
	ErrNoStream = errors.New("load: stream not announced")
	// ErrProc reports an unreadable /proc entry of the server process.
	ErrProc = errors.New("load: cannot read server process stats")
)
