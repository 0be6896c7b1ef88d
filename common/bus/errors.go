package bus

import (
	"errors"
	"fmt"

	"github.com/conclave-rtc/conclave/common/errs"
)

// TransportError reports a call or publish that failed in the transport rather than in the
// remote handler. It wraps one of the package sentinels (and, optionally, the underlying
// cause) for errors.Is, and converts to errs.Cluster (code 1201) for errors.As, so the REST
// layer answers "failed to call cluster" without knowing about the bus.
type TransportError struct {
	// Op names the operation, e.g. "call portal.join" or "publish room.1.joined".
	Op string
	// Err is one of the sentinels (ErrTimeout, ErrNoEndpoint, ...).
	Err error
	// Cause is the lower-level error, if any (a driver error, context.DeadlineExceeded).
	Cause error
}

// NewTransportError returns a *TransportError for op wrapping sentinel and cause (may be nil).
func NewTransportError(op string, sentinel, cause error) error {
	return &TransportError{Op: op, Err: sentinel, Cause: cause}
}

// Error implements error. It never contains message bodies.
func (e *TransportError) Error() string {
	if e.Cause == nil || e.Cause == e.Err {
		return fmt.Sprintf("%s: %v", e.Op, e.Err)
	}
	return fmt.Sprintf("%s: %v: %v", e.Op, e.Err, e.Cause)
}

// Unwrap returns the sentinel and the cause, so errors.Is matches either.
func (e *TransportError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

// As lets errors.As(err, &target) with target of type *errs.Error obtain the 1201 cluster
// error that transport failures map to.
func (e *TransportError) As(target any) bool {
	p, ok := target.(**errs.Error)
	if !ok {
		return false
	}
	*p = errs.Cluster(e.Error())
	return true
}

// Is reports whether target is an *errs.Error with the cluster code, so
// errors.Is(err, errs.Cluster("")) holds for transport failures.
func (e *TransportError) Is(target error) bool {
	var t *errs.Error
	return errors.As(target, &t) && t.Code == errs.CodeCluster
}

// ToError maps any error returned by a Bus to the *errs.Error the REST layer reports:
// remote *errs.Error values pass through unchanged, transport failures (anything wrapping a
// sentinel of this package) become errs.Cluster, and everything else errs.Unexpected.
func ToError(err error) *errs.Error {
	if err == nil {
		return nil
	}
	if IsTransport(err) {
		return errs.Cluster(err.Error())
	}
	return errs.As(err)
}

// IsTransport reports whether err wraps one of the sentinel transport errors.
func IsTransport(err error) bool {
	for _, s := range []error{ErrTimeout, ErrNoEndpoint, ErrClosed, ErrDisconnected, ErrOverloaded} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
