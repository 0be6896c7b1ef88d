package e2eutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// RepoRoot is the root of the workspace (this file lives in <root>/internal/e2eutil).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// Binaries builds a list of commands with one `go build` the first time one of them is
// asked for, into a temporary directory shared by every test of the test binary.
type Binaries struct {
	// Commands are package directories relative to the workspace root, such as
	// "./cmd/conclave"; each binary is named after its directory.
	Commands []string
	// Race builds with the race detector (pass RaceEnabled to match the test binary).
	Race bool
	// Prefix names the temporary directory.
	Prefix string

	once sync.Once
	dir  string
	err  error
}

// errNoCommands is returned by Path when Binaries lists nothing to build.
var errNoCommands = errors.New("e2eutil: Binaries has no commands")

// Path returns the path of the built command name (the last element of its directory),
// building every command on the first call; a build failure fails the test.
func (b *Binaries) Path(t testing.TB, name string) string {
	t.Helper()
	b.once.Do(b.build)
	if b.err != nil {
		t.Fatal(b.err)
	}
	for _, c := range b.Commands {
		if filepath.Base(c) == name {
			return filepath.Join(b.dir, name)
		}
	}
	t.Fatalf("e2eutil: %q is not one of the built commands %v", name, b.Commands)
	return ""
}

func (b *Binaries) build() {
	if len(b.Commands) == 0 {
		b.err = errNoCommands
		return
	}
	prefix := b.Prefix
	if prefix == "" {
		prefix = "conclave-e2e-bin"
	}
	b.dir, b.err = os.MkdirTemp("", prefix)
	if b.err != nil {
		return
	}
	args := []string{"build", "-o", b.dir + string(filepath.Separator)}
	if b.Race {
		args = append(args, "-race")
	}
	for _, c := range b.Commands {
		if !strings.HasPrefix(c, "./") {
			c = "./" + c
		}
		args = append(args, c)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
