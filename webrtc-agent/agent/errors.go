package agent

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/transport"
)

// errTransportNotFound is OWT's message for an unknown transport.
func errTransportNotFound(id string) *errs.Error {
	return errs.NotFound(fmt.Sprintf("Transport %s does NOT exist", id))
}

// errTrackNotFound reports an unknown source track.
func errTrackNotFound(id string) *errs.Error {
	return errs.New(http.StatusNotFound, errs.CodeStreamNotFound, fmt.Sprintf("Track %s does NOT exist", id))
}

// toRPCError maps transport errors to typed bus errors; anything else is unexpected.
func toRPCError(err error) error {
	var e *errs.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return e
	case errors.Is(err, transport.ErrOperationNotFound):
		return errs.NotFound(err.Error())
	case errors.Is(err, transport.ErrBadSDP), errors.Is(err, transport.ErrNoCodec),
		errors.Is(err, transport.ErrOperationExists), errors.Is(err, transport.ErrMidInUse),
		errors.Is(err, transport.ErrBadCandidate), errors.Is(err, transport.ErrBadRequest),
		errors.Is(err, transport.ErrNotReady):
		return errs.BadRequest(err.Error())
	case errors.Is(err, transport.ErrClosed):
		return errs.NotFound(err.Error())
	}
	return errs.Unexpected(err.Error())
}
