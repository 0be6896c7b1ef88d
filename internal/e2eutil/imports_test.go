package e2eutil

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOnlyTestsImport checks that no production file of the workspace imports this harness, or
// the OpenAPI checker it uses (and with it kin-openapi): both are for tests only.
func TestOnlyTestsImport(t *testing.T) {
	root := RepoRoot()
	self := filepath.Join(root, "internal", "e2eutil")
	paths := []string{`"github.com/conclave-rtc/conclave/internal/e2eutil`,
		`"github.com/conclave-rtc/conclave/management-api/openapi/check"`}
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
		for _, path := range paths {
			if strings.Contains(string(b), path) {
				t.Errorf("%s imports %s, which is for tests only", p, path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d production files checked", checked)
}
