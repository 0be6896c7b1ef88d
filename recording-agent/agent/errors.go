package agent

import (
	"errors"
	"fmt"

	"github.com/conclave-rtc/conclave/common/errs"
)

// ErrConfig: an invalid configuration or missing dependency.
var ErrConfig = errors.New("recording-agent: invalid config")

func errBadRequest(format string, args ...any) error { return errs.BadRequestf(format, args...) }

func errNotFound(id string) error { return errs.NotFound(fmt.Sprintf("Recording %s not found", id)) }

// errUnavailable is a refusal of this agent (full, stopping, low disk): the scheduler may
// pick another agent.
func errUnavailable(format string, args ...any) error {
	return errs.Cluster(fmt.Sprintf(format, args...))
}
