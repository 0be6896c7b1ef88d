package e2eutil

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestBinariesNothingToBuild checks that an empty command list is an error, not a build of
// the current directory.
func TestBinariesNothingToBuild(t *testing.T) {
	b := &Binaries{}
	b.build()
	if !errors.Is(b.err, errNoCommands) {
		t.Fatalf("err %v, want errNoCommands", b.err)
	}
}

// TestRepoRoot checks that RepoRoot is the workspace root.
func TestRepoRoot(t *testing.T) {
	if _, err := os.Stat(filepath.Join(RepoRoot(), "go.work")); err != nil {
		t.Fatalf("RepoRoot %s: %v", RepoRoot(), err)
	}
}

// TestEnvInt checks the reading of integer settings.
func TestEnvInt(t *testing.T) {
	t.Setenv("E2EUTIL_N", "")
	if EnvInt(t, "E2EUTIL_N", 7) != 7 {
		t.Fatal("default not used")
	}
	t.Setenv("E2EUTIL_N", "12")
	if EnvInt(t, "E2EUTIL_N", 7) != 12 {
		t.Fatal("value not read")
	}
}

// TestCluster checks that two deployments never share a prefix, database or key.
func TestCluster(t *testing.T) {
	a, b := NewCluster("amqp://x", "mongodb://y", "t"), NewCluster("amqp://x", "mongodb://y", "t")
	if a.Prefix == b.Prefix || a.Database == b.Database || a.SuperKey == b.SuperKey || a.Env[4] == b.Env[4] {
		t.Fatalf("shared settings: %+v %+v", a, b)
	}
	if c := a.Client("http://h"); c.ServiceID != a.SuperID || c.Key != a.SuperKey || c.Base != "http://h" {
		t.Fatalf("client %+v", c)
	}
}
