// Package web holds Conclave's browser side: the OWT client library (static/lib), the demo
// conference page (static/demo) and the operator console (static/console). The files are
// embedded in the binary, so the pages work offline and need no CDN.
//
// Demo serves the demo page at the root of the portal's HTTP server, and again at
// /r/<room path> (a room link); Console serves the console under /console on the management
// API. Both answer only GET and HEAD.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// DemoCSP and ConsoleCSP are the Content-Security-Policy headers of the two pages: their own
// scripts only. The demo may connect to any portal a token names; the console only to the
// management API that serves it.
const (
	DemoCSP    = "default-src 'self'; connect-src 'self' http: https: ws: wss:; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
	ConsoleCSP = "default-src 'self'; connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

// RoomLinkPrefix is where the demo page is served for a room link: /r/<room path> is the page,
// whose script takes the room from the address (e.g. /r/team-standup).
const RoomLinkPrefix = "/r/"

// Demo returns the handler of the demo page, meant for the root of a server: "/" and every
// path under RoomLinkPrefix are the page, /lib/ the client library and /vendor/ the
// socket.io-client bundle.
func Demo() http.Handler {
	s := mustSite("/", "demo", DemoCSP)
	s.pageAlias = RoomLinkPrefix
	return s
}

// Console returns the handler of the operator console, meant to be mounted at /console: it
// serves /console and /console/ (the page) and the files under /console/.
func Console() http.Handler {
	return mustSite("/console/", "console", ConsoleCSP)
}

// file is one embedded asset with its precomputed validator.
type file struct {
	body  []byte
	ctype string
	etag  string
}

// site serves a page directory plus the shared lib/ and vendor/ directories under prefix.
type site struct {
	prefix string
	csp    string
	files  map[string]file // path under prefix ("" is the page) → content
	// pageAlias, when set, is a prefix under which every longer path is the page too.
	pageAlias string
}

// mustSite builds a site; the embedded tree is fixed at build time, so a failure is a bug.
func mustSite(prefix, page, csp string) *site {
	s, err := newSite(static, prefix, page, csp)
	if err != nil {
		panic(fmt.Sprintf("web: embedded assets: %v", err))
	}
	return s
}

// newSite loads static/<page>, static/lib and static/vendor from fsys into memory.
func newSite(fsys fs.FS, prefix, page, csp string) (*site, error) {
	s := &site{prefix: prefix, csp: csp, files: map[string]file{}}
	for _, dir := range []struct{ from, to string }{{page, ""}, {"lib", "lib/"}, {"vendor", "vendor/"}} {
		root := "static/" + dir.from
		err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			s.files[dir.to+strings.TrimPrefix(p, root+"/")] = file{
				body: b, ctype: contentType(p), etag: `"` + hex.EncodeToString(sum[:12]) + `"`,
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", root, err)
		}
	}
	if _, ok := s.files["index.html"]; !ok {
		return nil, fmt.Errorf("static/%s/index.html is missing", page)
	}
	return s, nil
}

// contentType is the MIME type by extension (JavaScript modules need a JavaScript type).
func contentType(name string) string {
	switch path.Ext(name) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "text/plain; charset=utf-8" // LICENSE files and the like
}

// ServeHTTP implements http.Handler.
func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f, ok := s.lookup(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", s.csp)
	if r.Header.Get("If-None-Match") == f.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", fmt.Sprint(len(f.body)))
	if r.Method == http.MethodGet {
		_, _ = w.Write(f.body)
	}
}

// lookup maps a request path to an asset: the prefix itself (with or without its trailing
// slash), prefix+"index.html" and the paths under pageAlias are the page.
func (s *site) lookup(p string) (file, bool) {
	if s.pageAlias != "" && len(p) > len(s.pageAlias) && strings.HasPrefix(p, s.pageAlias) {
		return s.files["index.html"], true
	}
	if p+"/" == s.prefix {
		p = s.prefix
	}
	rel, ok := strings.CutPrefix(p, s.prefix)
	if !ok {
		return file{}, false
	}
	if rel == "" {
		rel = "index.html"
	}
	f, ok := s.files[rel]
	return f, ok
}
