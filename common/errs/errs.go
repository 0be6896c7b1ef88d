// Package errs defines the one typed error that crosses module and process boundaries.
// It carries the OWT management API error code and the HTTP status that goes with it, so a
// failure raised deep inside an agent reaches the REST caller with the right code.
package errs

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes of the OWT management REST API (its REST guide's "internal error code" table).
const (
	CodeNotFound            = 1001 // general not found
	CodeServiceNotFound     = 1002
	CodeRoomNotFound        = 1003
	CodeStreamNotFound      = 1004
	CodeParticipantNotFound = 1005
	CodeAuth                = 1101 // authentication failed
	CodePermission          = 1102 // permission denied
	CodeCluster             = 1201 // failed to call cluster
	CodeBadRequest          = 1301 // request data error
	CodeDatabase            = 1401 // database error
	CodeUnexpected          = 2001 // unexpected server error
)

// Error is an error with an OWT code and an HTTP status. It is JSON-encodable and is
// preserved across the bus.
type Error struct {
	Status  int    `json:"status"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Message) }

// Is reports whether target is an *Error with the same code, so errors.Is(err, errs.RoomNotFound(""))
// style checks compare codes rather than messages.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Code == e.Code
}

// New returns an error with the given HTTP status, code and message.
func New(status, code int, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

// Newf is New with a format string.
func Newf(status, code int, format string, args ...any) *Error {
	return New(status, code, fmt.Sprintf(format, args...))
}

// NotFound is a 404 with the general not-found code.
func NotFound(msg string) *Error { return New(http.StatusNotFound, CodeNotFound, msg) }

// ServiceNotFound is a 404 with code 1002.
func ServiceNotFound() *Error {
	return New(http.StatusNotFound, CodeServiceNotFound, "Service not found")
}

// RoomNotFound is a 404 with code 1003.
func RoomNotFound() *Error { return New(http.StatusNotFound, CodeRoomNotFound, "Room not found") }

// StreamNotFound is a 404 with code 1004.
func StreamNotFound() *Error { return New(http.StatusNotFound, CodeStreamNotFound, "Stream not found") }

// ParticipantNotFound is a 404 with code 1005.
func ParticipantNotFound() *Error {
	return New(http.StatusNotFound, CodeParticipantNotFound, "Participant not found")
}

// Auth is the 401 OWT answers for every authentication failure (its message is OWT's, verbatim).
func Auth() *Error {
	return New(http.StatusUnauthorized, CodeAuth, `WWW-Authenticate: MAuth realm="http://marte3.dit.upm.es"`)
}

// MAuthChallenge is the WWW-Authenticate header value of a 401 (RFC 9110 §11.6.1), with
// OWT's realm.
const MAuthChallenge = `MAuth realm="http://marte3.dit.upm.es"`

// AuthFailed is the 401/1101 of a request whose MAuth authentication failed, saying which
// part failed (reason: "missing Authorization header", "bad signature", …); the reason never
// contains key material.
func AuthFailed(reason string) *Error {
	return New(http.StatusUnauthorized, CodeAuth, "Authentication failed: "+reason)
}

// SipCallNotFound is the answer for an unknown sip call (404/1001), live room or not.
func SipCallNotFound() *Error { return NotFound("Sip call not found") }

// AnalyticsNotFound is the answer for an unknown analytics session (404/1001), live room or
// not.
func AnalyticsNotFound() *Error { return NotFound("Analytics not found") }

// Permission is a 403 with code 1102.
func Permission() *Error { return New(http.StatusForbidden, CodePermission, "Permission denied") }

// BadRequest is a 400 with code 1301 ("request data error").
func BadRequest(msg string) *Error { return New(http.StatusBadRequest, CodeBadRequest, msg) }

// BadRequestf is BadRequest with a format string.
func BadRequestf(format string, args ...any) *Error { return BadRequest(fmt.Sprintf(format, args...)) }

// Cluster is a 500 with code 1201: a call to another part of the cluster failed.
func Cluster(msg string) *Error { return New(http.StatusInternalServerError, CodeCluster, msg) }

// Database is a 500 with code 1401: the store failed.
func Database(msg string) *Error { return New(http.StatusInternalServerError, CodeDatabase, msg) }

// Unexpected is a 500 with code 2001.
func Unexpected(msg string) *Error { return New(http.StatusInternalServerError, CodeUnexpected, msg) }

// As returns err as an *Error; errors of any other kind become Unexpected with err's text.
func As(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Unexpected(err.Error())
}

// MessageNotFound is a missing chat message (a Conclave extension; 404 with OWT's general
// not-found code, as other sub-resources without a code of their own).
func MessageNotFound() *Error { return NotFound("Message not found") }
