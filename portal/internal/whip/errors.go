package whip

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/conclave-rtc/conclave/common/errs"
)

// Error is a refused WHIP or WHEP request: the HTTP status RFC 9725 asks for and the OWT
// error code and message of the body (`{"error": {"code", "message"}}`, as the management
// API answers).
type Error = errs.Error

func fail(status, code int, msg string) *Error { return errs.New(status, code, msg) }

// Refusals of the endpoint itself.
var (
	errContentType = fail(http.StatusUnsupportedMediaType, errs.CodeBadRequest, "Content-Type must be application/sdp")
	errFragType    = fail(http.StatusUnsupportedMediaType, errs.CodeBadRequest, "Content-Type must be application/trickle-ice-sdpfrag")
	errNoBearer    = fail(http.StatusUnauthorized, errs.CodeAuth, "Authorization: Bearer <token or stream key> is required")
	errBadKey      = fail(http.StatusUnauthorized, errs.CodeAuth, "Invalid stream key")
	errNoSession   = fail(http.StatusNotFound, errs.CodeNotFound, "No such WHIP/WHEP session")
	errNoStream    = fail(http.StatusNotFound, errs.CodeStreamNotFound, "Stream does NOT exist")
	errETag        = fail(http.StatusPreconditionFailed, errs.CodeBadRequest, "If-Match does not match the session's ETag")
	errTimeout     = fail(http.StatusServiceUnavailable, errs.CodeCluster, "No answer from the media agent in time")
	errClosing     = fail(http.StatusServiceUnavailable, errs.CodeCluster, "The portal is shutting down")
	errBodyTooBig  = fail(http.StatusRequestEntityTooLarge, errs.CodeBadRequest, "Request body too large")
)

// sdpError classifies an offer or fragment parsing error.
func sdpError(err error) *Error {
	if errors.Is(err, ErrNoMedia) {
		return fail(http.StatusNotAcceptable, errs.CodeBadRequest, err.Error())
	}
	return fail(http.StatusBadRequest, errs.CodeBadRequest, err.Error())
}

// signalingStatus maps the OWT signaling messages a login, publish, subscribe or soac may
// answer (portal and conference agent wording) to an HTTP status.
var signalingStatus = []struct {
	substr string
	status int
	code   int
}{
	{"Invalid token", http.StatusUnauthorized, errs.CodeAuth},
	{"Expired", http.StatusUnauthorized, errs.CodeAuth},
	{"unauthorized", http.StatusForbidden, errs.CodePermission},
	{"forbiden", http.StatusForbidden, errs.CodePermission},
	{"Invalid role", http.StatusForbidden, errs.CodePermission},
	{"does NOT exist", http.StatusNotFound, errs.CodeStreamNotFound},
	{"codec", http.StatusNotAcceptable, errs.CodeBadRequest},
	{"not acceptable", http.StatusNotAcceptable, errs.CodeBadRequest},
	{"Room is full", http.StatusServiceUnavailable, errs.CodeCluster},
	{"Too many", http.StatusServiceUnavailable, errs.CodeCluster},
	{"available", http.StatusServiceUnavailable, errs.CodeCluster},
	{"not ready", http.StatusServiceUnavailable, errs.CodeCluster},
	{"Timeout", http.StatusServiceUnavailable, errs.CodeCluster},
	{"timeout", http.StatusServiceUnavailable, errs.CodeCluster},
	{"SDP", http.StatusBadRequest, errs.CodeBadRequest},
	{"sdp", http.StatusBadRequest, errs.CodeBadRequest},
	{"Invalid", http.StatusBadRequest, errs.CodeBadRequest},
}

// refusal turns an OWT signaling error message into the HTTP error of the request.
func refusal(msg string) *Error {
	for _, m := range signalingStatus {
		if strings.Contains(msg, m.substr) {
			return fail(m.status, m.code, msg)
		}
	}
	return fail(http.StatusInternalServerError, errs.CodeUnexpected, msg)
}

// writeError answers e with the OWT error envelope; 401 adds the Bearer challenge (RFC 6750).
func writeError(w http.ResponseWriter, e *Error) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="conclave"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	type body struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	_ = json.NewEncoder(w).Encode(map[string]body{"error": {Code: e.Code, Message: e.Message}})
}
