package rest

import (
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/management-api/internal/validate"
)

// participants: GET list, GET/PATCH (permissions)/DELETE (drop) one; 404/1005.
func participants() liveKind {
	return liveKind{
		path:        "participants",
		notFound:    errs.ParticipantNotFound,
		list:        protocol.MethodParticipantsList,
		get:         protocol.MethodParticipantsGet,
		update:      protocol.MethodParticipantsUpdate,
		remove:      protocol.MethodParticipantsDrop,
		parseUpdate: validate.ParticipantOps,
	}
}
