package respond

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/conclave-rtc/conclave/common/errs"
)

// ReadJSON returns the request body after checking that it is JSON-typed and within limit
// bytes. A missing Content-Type is accepted as JSON (curl users forget it); any other media
// type than application/json or */*+json is a 400/1301, and a body over the limit a
// 413/1301. The JSON itself is parsed by the caller.
func ReadJSON(c *gin.Context, limit int64) ([]byte, error) {
	if err := checkContentType(c.GetHeader("Content-Type")); err != nil {
		return nil, err
	}
	r := http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	data, err := io.ReadAll(r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errs.New(http.StatusRequestEntityTooLarge, errs.CodeBadRequest, "Request body too large")
		}
		return nil, errs.BadRequest("Failed to read request body")
	}
	if len(data) == 0 {
		return nil, errs.BadRequest("Request body is empty")
	}
	if !utf8.Valid(data) { // RFC 8259 §8.1; decoders would silently turn it into U+FFFD
		return nil, errs.BadRequest("Request body is not valid UTF-8")
	}
	return data, nil
}

func checkContentType(ct string) error {
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return errs.BadRequest("Invalid Content-Type")
	}
	if mt == "application/json" || (len(mt) > 5 && mt[len(mt)-5:] == "+json") {
		return nil
	}
	return errs.BadRequestf("Content-Type %s is not supported; send application/json", mt)
}
