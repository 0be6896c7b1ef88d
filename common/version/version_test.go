package version

import (
	"encoding/json"
	"net/http/httptest"
	"runtime/debug"
	"testing"
)

func TestVersionFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-08T00:00:00Z"},
		{Key: "vcs.modified", Value: "true"}, {Key: "GOOS", Value: "linux"},
	}}
	got := fromBuildInfo(Info{Version: "v1.2.3"}, bi)
	want := Info{Version: "v1.2.3", Commit: "0123456789abcdef0123", Modified: true, Time: "2026-12-08T00:00:00Z", Go: "go1.26.0"}
	if got != want {
		t.Fatalf("fromBuildInfo = %+v, want %+v", got, want)
	}
	if s := got.String(); s != "v1.2.3 (commit 0123456789ab+dirty, 2026-12-08T00:00:00Z) go1.26.0" {
		t.Fatalf("String = %q", s)
	}
	if s := (Info{Version: "dev", Go: "go1.26.0"}).String(); s != "dev go1.26.0" {
		t.Fatalf("String without vcs = %q", s)
	}
}

func TestVersionGet(t *testing.T) {
	// A test binary carries no -X stamp: it reports a development build.
	if got := Get(); got.Version != "dev" || got.Go == "" {
		t.Fatalf("Get = %+v", got)
	}
}

func TestVersionHealthHandler(t *testing.T) {
	rec := httptest.NewRecorder()
	HealthHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	var h Health
	if err := json.Unmarshal(rec.Body.Bytes(), &h); err != nil || rec.Code != 200 || h.Status != "ok" || h.Info != Get() {
		t.Fatalf("healthz = %d %s (%v)", rec.Code, rec.Body.String(), err)
	}
	if rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("content type %q", rec.Header().Get("Content-Type"))
	}
}

func TestVersionRequested(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{{nil, false}, {[]string{"version"}, true}, {[]string{"-version"}, true}, {[]string{"--version"}, true},
		{[]string{"-config", "version"}, false}, {[]string{"serve"}, false}} {
		if got := Requested(tc.args); got != tc.want {
			t.Errorf("Requested(%q) = %v", tc.args, got)
		}
	}
}
