package e2eutil

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOnlyTestsImport checks that no production file of the workspace imports this harness.
func TestOnlyTestsImport(t *testing.T) {
	root := RepoRoot()
	self := filepath.Join(root, "internal", "e2eutil")
	const path = `"github.com/conclave-rtc/conclave/internal/e2eutil`
	checked := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == self || strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		checked++
		if strings.Contains(string(b), path) {
			t.Errorf("%s imports the end-to-end test harness", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d production files checked", checked)
}
