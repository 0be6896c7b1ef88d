package room

import (
	"context"
	"errors"
	"net/http"

	"github.com/conclave-rtc/conclave/common/bus"
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

// Server-side session messages (recordings, streaming-outs, streaming-ins).
const (
	msgAudioCodecInvalid   = "Audio codec invalid"
	msgVideoCodecInvalid   = "Video codec invalid"
	msgAACNotEnabled       = "Audio codec aac not enabled"
	msgAudioUnacceptable   = "Audio format unacceptable"
	msgVideoUnacceptable   = "Video format unacceptable"
	msgSessionNotActive    = "Session is not active"
	msgSessionAgentLost    = "Session agent is gone"
	msgSessionFailed       = "Session failed"
	msgSessionStopped      = "Session stopped"
	msgContainerTS         = "Container ts is not supported"
	msgContainerInvalid    = "Invalid container"
	msgContainerMP4        = "Container mp4 needs aac audio (or none) and h264/h265 video (or none)"
	msgTooManyTransports   = "Too many transports"
	msgConvertedAudioMP4   = "Audio converted from opus to aac is recorded in mp4 only"
	msgNoSessionAudio      = "The session has no audio"
	msgNoSessionVideo      = "The session has no video"
	msgInvalidSessionPatch = "Invalid update"
	msgAccessTimeout       = "Access timeout"
)

// Mixing and transcoding messages.
const (
	msgStreamIsMixed  = "Stream is Mixed" // OWT's answer to pause/play of a mixed stream
	msgNotInView      = "Stream is not in view: "
	msgInvalidRegion  = "Invalid region: "
	msgMixNotReady    = "Mixed stream is not ready: "
	msgInvalidLayout  = "Invalid layout"
	msgMixFailed      = "Mix failed"
	msgMixAgentLost   = "Mixing agent is gone"
	msgNoMixingAgent  = "No mixing agent available"
	msgXcodeFailed    = "Transcoding failed"
	msgNoTranscoding  = "Transcoding is not available"
	msgRegionIndex    = "Invalid region index"
	msgLayoutNotInput = "Layout stream is not an input of the view: "

	msgTranscodedSource = "A transcoded recording keeps its source"
)

// errNoMixTracks is a mix.start answer without tracks.
var errNoMixTracks = errors.New("room: the mixing agent reported no tracks")

// errNoSessionAgents is the start failure of a room built without SessionAgents.
var errNoSessionAgents = errors.New("room: no session agents configured")

// badRequest is a management request refused for its content (400/1301).
func badRequest(msg string) *errs.Error { return errs.BadRequest(msg) }

// agentFailure is a session agent's refusal or silence: the agent's own answer when it refused
// the request's content (4xx, e.g. a URL the streaming egress policy forbids), else 500/1201
// with the agent's message.
func agentFailure(err error) *errs.Error {
	var e *errs.Error
	switch {
	case errors.As(err, &e) && e.Status >= http.StatusBadRequest && e.Status < http.StatusInternalServerError:
		return e
	case errors.As(err, &e):
		return errs.Cluster(e.Message)
	case errors.Is(err, bus.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return errs.Cluster(msgAccessTimeout) // OWT's answer when a session is not ready in time
	}
	return errs.Cluster(err.Error())
}

// failure is a client-visible request failure: the portal sends its message to the client.
func failure(msg string) *errs.Error {
	return errs.New(http.StatusForbidden, errs.CodeBadRequest, msg)
}

// notOwner is the answer for a room this agent does not (or no longer) owns.
func notOwner() *errs.Error { return errs.Cluster(protocol.ErrNotOwner) }

// mixRefusal is a mixing agent's answer to a layout: its own status when it refused the
// request's content (4xx), else a cluster failure (500/1201).
func mixRefusal(err error) *errs.Error {
	if e := errs.As(err); e.Status < http.StatusInternalServerError {
		return badRequest(e.Message)
	}
	return agentFailure(err)
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
