package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/in"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/out"
)

// errSessionNotFound reports an unknown streaming-out or streaming-in.
func errSessionNotFound(what, id string) *errs.Error {
	return errs.NotFound(fmt.Sprintf("%s %s does NOT exist", what, id))
}

// errTrackNotFound reports an unknown exported track (as the webrtc agent does).
func errTrackNotFound(id string) *errs.Error {
	return errs.New(http.StatusNotFound, errs.CodeStreamNotFound, fmt.Sprintf("Track %s does NOT exist", id))
}

// toRPCError types job errors for the bus: invalid requests are 400s, source and ffmpeg
// failures 500s with code 1201 carrying the reason; typed errors (from the source agent's
// rtc.export) pass through.
func toRPCError(err error) error {
	var e *errs.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return e
	case errors.Is(err, out.ErrInvalid), errors.Is(err, in.ErrInvalid):
		return errs.BadRequest(err.Error())
	case errors.Is(err, out.ErrForbidden), errors.Is(err, in.ErrForbidden):
		return errs.New(http.StatusForbidden, errs.CodeBadRequest, err.Error())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return errs.Cluster("streaming session did not start in time: " + err.Error())
	case errors.Is(err, out.ErrStopped), errors.Is(err, in.ErrStopped):
		return errs.Cluster("streaming session stopped while starting")
	}
	return errs.Cluster(err.Error())
}
