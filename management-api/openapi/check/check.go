// Package check validates management API traffic against its OpenAPI description (package
// openapi) with kin-openapi, so that tests which make real requests fail when the server and
// the description drift apart. It is for tests: the production binary does not import it.
package check

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/conclave-rtc/conclave/management-api/openapi"
)

// Exchange is one request and its answer.
type Exchange struct {
	Method string
	// Target is the request's path with its query, such as /v1/rooms?page=1.
	Target string
	Header http.Header
	Body   []byte

	Status     int
	RespHeader http.Header
	RespBody   []byte
}

// Checker validates exchanges against the description. It is safe for concurrent use.
type Checker struct {
	doc    *openapi3.T
	router routers.Router
	errors *openapi3.Schema

	checked atomic.Int64 // exchanges checked
	spent   atomic.Int64 // nanoseconds spent checking them
}

// Stats returns how many exchanges were checked and the time spent checking them.
func (c *Checker) Stats() (int64, time.Duration) {
	return c.checked.Load(), time.Duration(c.spent.Load())
}

// New loads the description as the server serves it (openapi.JSON) and checks that it is a
// valid OpenAPI document.
func New() (*Checker, error) {
	data, err := openapi.JSON()
	if err != nil {
		return nil, err
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("openapi: load: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi: invalid description: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: router: %w", err)
	}
	errRef := doc.Components.Schemas["Error"]
	if errRef == nil || errRef.Value == nil {
		return nil, errors.New("openapi: no Error schema")
	}
	return &Checker{doc: doc, router: router, errors: errRef.Value}, nil
}

// Doc returns the loaded description.
func (c *Checker) Doc() *openapi3.T { return c.doc }

// mauthHeader is the MAuth Authorization header's form (owt-protocol.md §2.2): the pieces the
// server reads, comma-separated without spaces, the user and role optional and together.
var mauthHeader = regexp.MustCompile(`^MAuth realm=[^,]*,mauth_signature_method=[^,]+,mauth_serviceid=[^,]+,` +
	`mauth_cnonce=[^,]+,mauth_timestamp=[^,]+(,mauth_username=[^,]*,mauth_role=[^,]*)?,mauth_signature=[^,]+$`)

// authenticate checks that a request carries an MAuth header of the described form; the
// signature itself is the server's to verify.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecuritySchemeName != "MAuth" {
		return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
	}
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if !mauthHeader.MatchString(h) {
		return fmt.Errorf("authorization header %q is not an MAuth header", h)
	}
	return nil
}

// Check validates one exchange. A request that does not match the description must have been
// refused with a client error (4xx); every answer must be one the operation describes, with
// the described body. A request no operation describes must get the error envelope with a
// 401, 404, 429 or 500; an OPTIONS request (CORS preflight) an empty 200.
func (c *Checker) Check(x Exchange) error {
	begin := time.Now()
	err := c.check(x)
	c.spent.Add(int64(time.Since(begin)))
	c.checked.Add(1)
	if err != nil {
		return fmt.Errorf("openapi: %s %s answered %d %.300q: %w", x.Method, x.Target, x.Status, x.RespBody, err)
	}
	return nil
}

func (c *Checker) check(x Exchange) error {
	if x.Method == http.MethodOptions {
		if x.Status != http.StatusOK || len(x.RespBody) != 0 {
			return errors.New("a preflight must answer an empty 200")
		}
		return nil
	}
	req, err := http.NewRequest(x.Method, "http://api.invalid"+canonical(x.Target), bytes.NewReader(x.Body))
	if err != nil {
		return err
	}
	req.Header = x.Header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return c.checkUnrouted(x)
	}
	ctx := context.Background()
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: authenticate}}
	if reqErr := openapi3filter.ValidateRequest(ctx, in); reqErr != nil && (x.Status < 400 || x.Status >= 500) {
		return fmt.Errorf("the request does not match the description, yet it was not refused with a 4xx: %w", reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: x.Status,
		Header: x.RespHeader, Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	out.SetBodyBytes(x.RespBody)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("the answer does not match operation %s: %w", route.Operation.OperationID, err)
	}
	return nil
}

// checkUnrouted checks the answer to a request that no operation describes.
func (c *Checker) checkUnrouted(x Exchange) error {
	switch x.Status {
	case http.StatusUnauthorized, http.StatusNotFound, http.StatusTooManyRequests, http.StatusInternalServerError:
	default:
		return fmt.Errorf("no operation describes this request, yet it was answered %d", x.Status)
	}
	var v any
	if err := json.Unmarshal(x.RespBody, &v); err != nil {
		return fmt.Errorf("no operation describes this request and its answer is not JSON: %w", err)
	}
	if err := c.errors.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("no operation describes this request and its answer is not an Error: %w", err)
	}
	return nil
}

// consolePrefix is where gin's catch-all /console/*file route lives.
const consolePrefix = "/console/"

// canonical is the target as the server routes it: without a trailing slash (server.front),
// and with the slashes of a console file's name escaped, since an OpenAPI path parameter
// (/console/{file}) spans one segment where gin's catch-all spans the rest of the path.
func canonical(target string) string {
	path, query, hasQuery := strings.Cut(target, "?")
	if len(path) > 1 {
		path = strings.TrimRight(path, "/")
		if path == "" {
			path = "/"
		}
	}
	if file, ok := strings.CutPrefix(path, consolePrefix); ok {
		path = consolePrefix + strings.ReplaceAll(file, "/", "%2F")
	}
	if hasQuery {
		return path + "?" + query
	}
	return path
}
