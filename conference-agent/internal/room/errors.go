package room

import (
	"net/http"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// OWT's error strings (agent/conference/conference.js), sent verbatim to clients by the portal.
const (
	msgRoomFull          = "Room is full"
	msgInvalidRole       = "Invalid role"
	msgAlreadyInRoom     = "Participant already in room"
	msgNotJoined         = "Participant has not joined"
	msgUnauthorized      = "unauthorized"
	msgTooManyInputs     = "Too many inputs"
	msgStreamExists      = "Stream exists"
	msgAudioForbidden    = "Audio is forbiden" // sic, as OWT
	msgVideoForbidden    = "Video is forbiden" // sic, as OWT
	msgStreamNotExist    = "Stream does NOT exist"
	msgSubExists         = "Subscription exists"
	msgSubNotExist       = "Subscription does NOT exist"
	msgInvalidStreamOp   = "Invalid stream control operation"
	msgInvalidSubOp      = "Invalid subscription control operation"
	msgUpdateSubFailed   = "Update subscription failed"
	msgTargetNotExist    = "Target participant does NOT exist: "
	msgFormatNotOK       = "Format is not acceptable"
	msgResolutionNotOK   = "Resolution is not acceptable"
	msgFramerateNotOK    = "Framerate is not acceptable"
	msgBitrateNotOK      = "Bitrate is not acceptable"
	msgKFINotOK          = "KeyFrameInterval is not acceptable"
	msgSourceLoss        = "Source stream loss"
	msgParticipantLeft   = "Participant terminate"
	msgTrackNotExist     = "Track does NOT exist"
	msgMixingUnsupported = "Mixed streams are not supported yet"
	msgInvalidView       = "Invalid view label: "
	msgTextTooLong       = "Text message is too long"
	msgInvalidReceiver   = "Invalid receiver"
	msgInvalidTracks     = "Invalid media tracks"
	msgInvalidControl    = "Invalid control data"
	msgAgentLost         = "WebRTC agent is gone"
	msgRoomDestroyed     = "Room destroyed"
)

// failure is a client-visible request failure: the portal sends its message to the client.
func failure(msg string) *errs.Error {
	return errs.New(http.StatusForbidden, errs.CodeBadRequest, msg)
}

// notOwner is the answer for a room this agent does not (or no longer) owns.
func notOwner() *errs.Error { return errs.Cluster(protocol.ErrNotOwner) }

// opFailed is a management operation failure (OWT REST 500/1301).
func opFailed(msg string) *errs.Error {
	return errs.New(http.StatusInternalServerError, errs.CodeBadRequest, msg)
}

// transportMissing is OWT's answer for an unknown (or someone else's) transport.
func transportMissing(id string) *errs.Error {
	return failure("Transport " + id + " does NOT exist")
}

// targetNotSatisfied prefixes a subscription source error as OWT does.
func targetNotSatisfied(kind, msg string) *errs.Error {
	return failure("Target " + kind + " stream does NOT satisfy:" + msg)
}

// participantNotFound is the management API's 404/1005.
func participantNotFound() *errs.Error { return errs.ParticipantNotFound() }

// streamNotFound is the management API's 404/1004.
func streamNotFound() *errs.Error { return errs.StreamNotFound() }
