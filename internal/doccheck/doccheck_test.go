package doccheck

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRepositoryReferences is the check itself, over the whole repository but this package
// (whose test fixtures are broken on purpose).
func TestRepositoryReferences(t *testing.T) {
	problems, err := Check("../..", "internal/doccheck")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

func TestCheckFindsBrokenReferences(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("docs/guide.md", "# Guide\n\n## 2. Auth\n\n### 2.4 Vectors\n\n## 4. Signaling\n\n### 4.2 States\n\n### 4.3 Requests\n")
	write("README.md", strings.Join([]string{
		"[guide](docs/guide.md) [auth](docs/guide.md#2-auth) [site](https://example.org/x.md)",
		"[missing](docs/nope.md) [bad anchor](docs/guide.md#nope) [up](../outside.md)",
		"See guide.md §2.4 and `guide.md` §4.2–4.3, §4 and [docs/guide.md](docs/guide.md) §2.",
		"See guide.md §9 and guide.md §4.2–4.7.",
		"Design in ARCHITECTURE.md; style in /work/shared/STYLE.md.",
		"```",
		"[in a code block](ignored.md)",
		"```",
	}, "\n"))
	write("pkg/a.go", "package pkg\n\n// Serve implements guide.md §4.3 (see also owt.md §1).\nfunc Serve() {}\n")
	problems, err := Check(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	want := []string{
		"README.md:2: link docs/nope.md: docs/nope.md does not exist",
		"README.md:2: link docs/guide.md#nope: docs/guide.md has no heading #nope",
		"README.md:2: link ../outside.md leaves the repository",
		"README.md:4: docs/guide.md has no section §9",
		"README.md:4: docs/guide.md has no section §4.7",
		"README.md:5: points outside the repository: Design in ARCHITECTURE.md; style in /work/shared/STYLE.md.",
		"README.md:5: ARCHITECTURE.md is not in the repository",
		"README.md:5: /work/shared/STYLE.md is not in the repository",
		"pkg/a.go:3: owt.md is not in the repository",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"2. Auth":                            "2-auth",
		"4.2 States (socketIOServer.js)":     "42-states-socketioserverjs",
		"Relogin (deliberate deviation)":     "relogin-deliberate-deviation",
		"`conclave load` — numbers":          "conclave-load--numbers",
		"Differences from OWT 5.1":           "differences-from-owt-51",
		"Rooms, tokens & the management API": "rooms-tokens--the-management-api",
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}
