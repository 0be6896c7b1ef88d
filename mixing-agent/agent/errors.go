package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/mixing-agent/internal/layout"
	"github.com/conclave-rtc/conclave/mixing-agent/internal/pipeline"
)

// errSessionNotFound reports an unknown mix or transcode session.
func errSessionNotFound(what, id string) *errs.Error {
	return errs.NotFound(fmt.Sprintf("%s %s does NOT exist", what, id))
}

// errTrackNotFound reports an unknown exported track (as the other agents do).
func errTrackNotFound(id string) *errs.Error {
	return errs.New(http.StatusNotFound, errs.CodeStreamNotFound, fmt.Sprintf("Track %s does NOT exist", id))
}

// errUnavailable reports a temporary refusal (stopping).
func errUnavailable(msg string) *errs.Error {
	return errs.New(http.StatusServiceUnavailable, errs.CodeCluster, msg)
}

// errCapacity reports admission control refusing a session.
func errCapacity(capacity int) *errs.Error {
	return errs.New(http.StatusServiceUnavailable, errs.CodeCluster,
		fmt.Sprintf("mixing agent at capacity (%d weighted sessions)", capacity))
}

// errUnsupported reports a codec or format the agent cannot produce or decode.
func errUnsupported(format string, args ...any) *errs.Error {
	return errs.BadRequest("unsupported " + fmt.Sprintf(format, args...))
}

// toRPCError types errors for the bus: layout errors are 400s, typed errors pass through.
func toRPCError(err error) error {
	var e *errs.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return e
	case errors.Is(err, layout.ErrUnknownStream), errors.Is(err, layout.ErrUnknownRegion), errors.Is(err, layout.ErrInvalidView),
		errors.Is(err, layout.ErrInvalidLayout), errors.Is(err, pipeline.ErrUnsupportedCodec):
		return errs.BadRequest(err.Error())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return errs.Cluster("mixing agent call timed out: " + err.Error())
	}
	return errs.Cluster(err.Error())
}
