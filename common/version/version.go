// Package version reports which build of Conclave a binary is: the release version stamped
// by scripts/build (-ldflags -X), and the commit, its time and the Go version that the Go
// toolchain records in every binary built from a git checkout. `conclave version`, each
// agent's `version` argument and every /healthz answer show it, so an operator can tell what
// runs where during a rolling upgrade.
package version

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"
)

// release is set by scripts/build: go build -ldflags "-X github.com/conclave-rtc/conclave/common/version.release=v1.2.3".
// A binary built otherwise (go run, go build, go test) reports "dev". commit is stamped the same
// way: the toolchain records no VCS information for a build in workspace mode.
var release, commit string

// Info describes one build.
type Info struct {
	// Version is the release version ("dev" for a development build).
	Version string `json:"version"`
	// Commit is the git revision the binary was built from ("" when unknown), with
	// Modified set when the work tree had uncommitted changes.
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	// Time is the commit time (RFC 3339), "" when unknown.
	Time string `json:"time,omitempty"`
	// Go is the Go toolchain version.
	Go string `json:"go"`
}

// Get returns this binary's build information.
func Get() Info {
	info := Info{Version: release, Commit: commit}
	if info.Version == "" {
		info.Version = "dev"
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	return fromBuildInfo(info, bi)
}

// fromBuildInfo completes info from the toolchain's build settings.
func fromBuildInfo(info Info, bi *debug.BuildInfo) Info {
	info.Go = bi.GoVersion
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value // the toolchain's record wins over a stamp
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// String is the one-line form `<name> version` prints: the version, then the short commit
// (with "+dirty" for a modified tree), the commit time and the Go version.
func (i Info) String() string {
	s := i.Version
	if i.Commit != "" {
		commit := i.Commit
		if len(commit) > 12 {
			commit = commit[:12]
		}
		if i.Modified {
			commit += "+dirty"
		}
		s += " (commit " + commit
		if i.Time != "" {
			s += ", " + i.Time
		}
		s += ")"
	}
	return fmt.Sprintf("%s %s", s, i.Go)
}

// Health is the /healthz answer of every HTTP server of Conclave: status "ok" and the build.
type Health struct {
	Status string `json:"status"`
	Info
}

// HealthHandler answers /healthz with Health as JSON (200): the process is up, and this is
// the build it runs.
func HealthHandler() http.Handler {
	body, _ := json.Marshal(Health{Status: "ok", Info: Get()})
	body = append(body, '\n')
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}

// Requested reports whether args (os.Args[1:]) ask a binary for its version: a first
// argument "version", "-version" or "--version".
func Requested(args []string) bool {
	return len(args) > 0 && (args[0] == "version" || args[0] == "-version" || args[0] == "--version")
}
