package web

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/conclave-rtc/conclave/management-api/openapi"
)

func TestDemoServesAssets(t *testing.T) {
	h := Demo()
	tests := []struct {
		path, method string
		status       int
		ctype        string
		contains     string
	}{
		{"/", "GET", 200, "text/html", `src="/app.js"`},
		{"/r/team-standup", "GET", 200, "text/html", `src="/app.js"`}, // a room link
		{"/r/team/standup", "GET", 200, "text/html", `href="/lib/ui.css"`},
		{"/r/x", "HEAD", 200, "text/html", ""},
		{"/r/x", "POST", 405, "text/plain", ""},
		{"/r/", "GET", 404, "text/plain", ""},
		{"/r", "GET", 404, "text/plain", ""},
		{"/index.html", "GET", 200, "text/html", "Conclave"},
		{"/app.js", "GET", 200, "text/javascript", "conclaveDemo"},
		{"/style.css", "GET", 200, "text/css", ".tile"},
		{"/lib/conclave.js", "GET", 200, "text/javascript", "export class ConferenceClient"},
		{"/lib/ui.css", "GET", 200, "text/css", ":root"},
		{"/vendor/socket.io.esm.min.js", "GET", 200, "text/javascript", "Socket.IO v"},
		{"/vendor/socket.io-client.LICENSE", "GET", 200, "text/plain", "MIT License"},
		{"/", "HEAD", 200, "text/html", ""},
		{"/", "POST", 405, "text/plain", ""},
		{"/missing.js", "GET", 404, "text/plain", ""},
		{"/lib/", "GET", 404, "text/plain", ""},
		{"/../web.go", "GET", 404, "text/plain", ""},
		{"/console/app.js", "GET", 404, "text/plain", ""}, // the console is not part of the demo site
	}
	for _, tc := range tests {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tc.ctype) {
				t.Errorf("Content-Type %q, want %q…", ct, tc.ctype)
			}
			if !strings.Contains(rec.Body.String(), tc.contains) {
				t.Errorf("body does not contain %q", tc.contains)
			}
			if tc.status == 200 && rec.Header().Get("Content-Security-Policy") != DemoCSP {
				t.Errorf("CSP %q", rec.Header().Get("Content-Security-Policy"))
			}
		})
	}
}

func TestConsoleServesAssets(t *testing.T) {
	h := Console()
	tests := []struct {
		path     string
		status   int
		contains string
	}{
		{"/console", 200, "Conclave console"},
		{"/console/", 200, "Conclave console"},
		{"/console/app.js", 200, "RestClient"},
		{"/console/lib/rest.js", 200, "crypto.subtle.sign"},
		{"/console/lib/ui.css", 200, ":root"},
		{"/app.js", 404, ""},
		{"/consoleX", 404, ""},
		{"/r/team-standup", 404, ""}, // room links are the demo's
	}
	for _, tc := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.contains) {
			t.Errorf("%s: %d, want %d with %q", tc.path, rec.Code, tc.status, tc.contains)
		}
		if tc.status == 200 && rec.Header().Get("Content-Security-Policy") != ConsoleCSP {
			t.Errorf("%s: CSP %q", tc.path, rec.Header().Get("Content-Security-Policy"))
		}
	}
}

// TestConsoleLinksOpenAPI checks that the console links the management API's OpenAPI
// description where the API serves it (management-api/server tests that it does).
func TestConsoleLinksOpenAPI(t *testing.T) {
	rec := httptest.NewRecorder()
	Console().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/console/", nil))
	if n := strings.Count(rec.Body.String(), `href="`+openapi.Path+`"`); n != 2 {
		t.Fatalf("console page links %s %d times, want 2 (sign-in and top bar)", openapi.Path, n)
	}
}

func TestETagRevalidation(t *testing.T) {
	h := Demo()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/lib/conclave.js", nil))
	etag := rec.Header().Get("ETag")
	if etag == "" || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, rec.Header().Get("Cache-Control"))
	}
	req := httptest.NewRequest(http.MethodGet, "/lib/conclave.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Fatalf("revalidation: %d with %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestNewSiteRequiresIndex(t *testing.T) {
	fsys := fstest.MapFS{
		"static/demo/app.js":  {Data: []byte("x")},
		"static/lib/a.js":     {Data: []byte("y")},
		"static/vendor/b.js":  {Data: []byte("z")},
		"static/other/i.html": {Data: []byte("<p>")},
	}
	if _, err := newSite(fsys, "/", "demo", ""); err == nil {
		t.Fatal("a page without index.html was accepted")
	}
	if _, err := newSite(fsys, "/", "nothing", ""); err == nil {
		t.Fatal("a missing page directory was accepted")
	}
}

// TestVendoredSocketIO checks that the vendored bundle is byte-identical to the npm package
// of web/test/package-lock.json (when installed), so its version is the one the README names.
func TestVendoredSocketIO(t *testing.T) {
	installed, err := os.ReadFile(filepath.Join("test", "node_modules", "socket.io-client", "dist", "socket.io.esm.min.js"))
	if os.IsNotExist(err) {
		t.Skip("web/test/node_modules is not installed (npm ci --prefix web/test)")
	}
	if err != nil {
		t.Fatal(err)
	}
	vendored, err := os.ReadFile(filepath.Join("static", "vendor", "socket.io.esm.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	if string(installed) != string(vendored) {
		t.Fatal("static/vendor/socket.io.esm.min.js differs from the socket.io-client npm package; copy it again")
	}
}
