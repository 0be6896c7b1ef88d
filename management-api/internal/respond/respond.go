// Package respond writes the management API's responses: OWT's JSON error envelope, JSON and
// text bodies, and the bounded, content-checked reading of request bodies.
package respond

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/store"
)

// envelope is OWT's error body: {"error":{"code":N,"message":"..."}}.
type envelope struct {
	Error body `json:"error"`
}

type body struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Error writes err as OWT's error envelope and aborts the gin chain. Errors that are not
// *errs.Error are mapped by Classify.
func Error(c *gin.Context, err error) {
	e := Classify(err)
	c.Set(errorKey, e)
	c.AbortWithStatusJSON(e.Status, envelope{Error: body{Code: e.Code, Message: e.Message}})
}

// errorKey stores the answered *errs.Error in the gin context for the request log.
const errorKey = "conclave.error"

// Answered returns the error Error wrote for this request, if any.
func Answered(c *gin.Context) (*errs.Error, bool) {
	v, ok := c.Get(errorKey)
	if !ok {
		return nil, false
	}
	e, ok := v.(*errs.Error)
	return e, ok
}

// Classify turns any error into the *errs.Error the client sees: *errs.Error values keep
// their code, store outages become 500/1401, everything else 500/2001 with a generic message
// (internal error texts are logged, not returned).
func Classify(err error) *errs.Error {
	var e *errs.Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, store.ErrUnavailable):
		return errs.Database("Database unavailable")
	default:
		return errs.Unexpected("Unexpected server error")
	}
}

// JSON writes v with status 200.
func JSON(c *gin.Context, v any) { c.JSON(http.StatusOK, v) }

// Text writes s as a text/plain 200 body (OWT sends these bodies as text/html).
func Text(c *gin.Context, s string) {
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(s))
}

// Empty writes an empty 200, OWT's answer to most DELETEs.
func Empty(c *gin.Context) { c.Status(http.StatusOK) }
