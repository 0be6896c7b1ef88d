package server

import (
	"bytes"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/management-api/openapi"
)

// ginParam matches a gin path parameter (:name or *name).
var ginParam = regexp.MustCompile(`[:*]([A-Za-z_]+)`)

// TestOpenAPIRoutes checks that every route the server registers is described, and that every
// described operation is a registered route, so the description cannot drift from the router.
func TestOpenAPIRoutes(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Console = http.NotFoundHandler() })
	c, err := apiDescription()
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]bool{}
	for _, r := range e.srv.engine.Routes() {
		registered[r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	described := map[string]bool{}
	for path, item := range c.Doc().Paths.Map() {
		for method := range item.Operations() {
			described[method+" "+path] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(registered)) {
		if !described[k] {
			t.Errorf("route %s is not described in management-api/openapi/openapi.yaml", k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(described)) {
		if !registered[k] {
			t.Errorf("operation %s is described but the server has no such route", k)
		}
	}
	t.Logf("%d routes, %d described operations", len(registered), len(described))
}

// TestOpenAPIServed checks GET /v1/openapi.json: unauthenticated, JSON, the description.
func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t, nil)
	want, err := openapi.JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{openapi.Path, openapi.Path + "/"} {
		rec := e.do("GET", path, "", "")
		wantOK(t, rec)
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		if !bytes.Equal(rec.Body.Bytes(), want) {
			t.Errorf("%s: served %d bytes, not the description's %d", path, rec.Body.Len(), len(want))
		}
	}
	// Not under /v1.1, which is an alias of the room routes only.
	wantError(t, e.do("GET", "/v1.1/openapi.json", "", ""), 404, 1001)
}
