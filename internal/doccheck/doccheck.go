// Package doccheck checks that the repository's documentation stands alone: every relative
// Markdown link, every `file.md §N` section reference and every mention of a Markdown file in
// Markdown and Go sources resolves inside the repository, and nothing points at files outside
// it. The repository's test (doccheck_test.go) runs it over the whole tree.
package doccheck

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Problem is one reference that does not resolve.
type Problem struct {
	File string // slash-separated, relative to the root
	Line int
	Msg  string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg) }

// skipDirs are never searched: VCS data, installed packages, build outputs and test fixtures.
var skipDirs = map[string]bool{".git": true, "node_modules": true, "bin": true, "data": true, ".cache": true, "testdata": true}

// tree is the set of files and directories under the root, and the section numbers of each
// Markdown file's headings.
type tree struct {
	root     string
	paths    map[string]bool     // files and directories, slash-separated relative paths
	byBase   map[string][]string // Markdown base name → paths
	sections map[string]map[string]bool
	anchors  map[string]map[string]bool
}

// Check examines every .md and .go file under root, except those under the skip directories
// (slash-separated, relative to root).
func Check(root string, skip ...string) ([]Problem, error) {
	t := &tree{root: root, paths: map[string]bool{}, byBase: map[string][]string{},
		sections: map[string]map[string]bool{}, anchors: map[string]map[string]bool{}}
	var sources []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && (skipDirs[d.Name()] || slices.Contains(skip, rel)) {
				return filepath.SkipDir
			}
			t.paths[rel] = true
			return nil
		}
		t.paths[rel] = true
		switch filepath.Ext(rel) {
		case ".md":
			t.byBase[path.Base(rel)] = append(t.byBase[path.Base(rel)], rel)
			sources = append(sources, rel)
		case ".go":
			sources = append(sources, rel)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var problems []Problem
	for _, f := range sources {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return nil, err
		}
		problems = append(problems, t.checkFile(f, string(b))...)
	}
	return problems, nil
}

var (
	headingRE = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	numberRE  = regexp.MustCompile(`^(\d+(?:\.\d+)*)\.?(?:\s|$)`)
	// [text](target) or [text](target "title"); images too.
	linkRE = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	// a Markdown file name, optionally followed by a section reference: "§4.2–4.3, §6".
	mdRefRE   = regexp.MustCompile("([A-Za-z0-9_./-]*[A-Za-z0-9_-]\\.md)\\b`?\\]?(?:\\([^)\\s]*\\))?\\s*(§\\s*\\d+(?:\\.\\d+)*(?:\\s*[–-]\\s*\\d+(?:\\.\\d+)*)?(?:\\s*,\\s*§\\s*\\d+(?:\\.\\d+)*(?:\\s*[–-]\\s*\\d+(?:\\.\\d+)*)?)*)?")
	sectionRE = regexp.MustCompile(`\d+(?:\.\d+)*`)
	outsideRE = regexp.MustCompile(`(?:/work/shared|\.\./shared/|\.\./\.\./shared)`)
	schemeRE  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
)

// checkFile reports the unresolved references of one source file.
func (t *tree) checkFile(file, text string) []Problem {
	var out []Problem
	add := func(line int, format string, args ...any) {
		out = append(out, Problem{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	isMD := strings.HasSuffix(file, ".md")
	fenced := false
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		if isMD && strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if outsideRE.MatchString(line) {
			add(n, "points outside the repository: %s", strings.TrimSpace(line))
		}
		if fenced { // examples, not references
			continue
		}
		if isMD {
			for _, m := range linkRE.FindAllStringSubmatch(line, -1) {
				if msg := t.checkLink(file, m[1]); msg != "" {
					add(n, "%s", msg)
				}
			}
		}
		for _, m := range mdRefRE.FindAllStringSubmatchIndex(line, -1) {
			name := line[m[2]:m[3]]
			if strings.HasPrefix(name, "//") || urlAround(line, m[2]) {
				continue // part of a URL
			}
			if isMD && strings.HasSuffix(line[:m[2]], "](") && m[4] < 0 {
				continue // a link target, checked above
			}
			target, msg := t.resolveMD(file, name)
			if msg != "" {
				add(n, "%s", msg)
				continue
			}
			if m[4] < 0 {
				continue
			}
			for _, sec := range sectionRE.FindAllString(line[m[4]:m[5]], -1) {
				if !t.sections[target][sec] {
					add(n, "%s has no section §%s", target, sec)
				}
			}
		}
	}
	return out
}

// urlAround reports whether the text at i belongs to a URL (a "scheme://" run with no space
// before i).
func urlAround(line string, i int) bool {
	start := strings.LastIndexAny(line[:i], " \t(<\"'`[") + 1
	return strings.Contains(line[start:i], "://")
}

// checkLink checks a Markdown link target; it returns a problem description or "".
func (t *tree) checkLink(file, target string) string {
	if schemeRE.MatchString(target) || strings.HasPrefix(target, "//") {
		return "" // absolute URL
	}
	p, frag, _ := strings.Cut(target, "#")
	resolved := file
	if p != "" {
		if strings.HasPrefix(p, "/") {
			return fmt.Sprintf("link %s is an absolute path", target)
		}
		resolved = path.Clean(path.Join(path.Dir(file), p))
		if strings.HasPrefix(resolved, "../") || resolved == ".." {
			return fmt.Sprintf("link %s leaves the repository", target)
		}
		if !t.paths[resolved] {
			return fmt.Sprintf("link %s: %s does not exist", target, resolved)
		}
	}
	if frag != "" && strings.HasSuffix(resolved, ".md") {
		if _, err := t.load(resolved); err != nil {
			return err.Error()
		}
		if !t.anchors[resolved][frag] {
			return fmt.Sprintf("link %s: %s has no heading #%s", target, resolved, frag)
		}
	}
	return ""
}

// resolveMD finds the repository file a Markdown file name refers to from file: a path
// relative to file's directory or to the root, else the only file of that base name (or the
// one nearest to file when several share it).
func (t *tree) resolveMD(file, name string) (string, string) {
	var target string
	for _, c := range []string{path.Clean(path.Join(path.Dir(file), name)), path.Clean(name)} {
		if t.paths[c] {
			target = c
			break
		}
	}
	if target == "" && !strings.Contains(name, "/") {
		if cands := t.byBase[name]; len(cands) > 0 {
			target = nearest(file, cands)
		}
	}
	if target == "" {
		return "", fmt.Sprintf("%s is not in the repository", name)
	}
	if _, err := t.load(target); err != nil {
		return "", err.Error()
	}
	return target, ""
}

// nearest is the candidate sharing the longest directory prefix with file.
func nearest(file string, cands []string) string {
	best, bestLen := "", -1
	for _, c := range slices.Sorted(slices.Values(cands)) {
		l := commonDirPrefix(path.Dir(file), path.Dir(c))
		if l > bestLen {
			best, bestLen = c, l
		}
	}
	return best
}

func commonDirPrefix(a, b string) int {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	n := 0
	for n < len(as) && n < len(bs) && as[n] == bs[n] {
		n++
	}
	return n
}

// load reads a Markdown file's numbered sections and heading anchors once.
func (t *tree) load(file string) (map[string]bool, error) {
	if s, ok := t.sections[file]; ok {
		return s, nil
	}
	b, err := os.ReadFile(filepath.Join(t.root, file))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	secs, anchors := map[string]bool{}, map[string]bool{}
	seen := map[string]int{}
	fenced := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		m := headingRE.FindStringSubmatch(line)
		if fenced || m == nil {
			continue
		}
		if num := numberRE.FindStringSubmatch(m[1]); num != nil {
			secs[num[1]] = true
		}
		slug := Slug(m[1])
		if k := seen[slug]; k > 0 {
			anchors[fmt.Sprintf("%s-%d", slug, k)] = true
		} else {
			anchors[slug] = true
		}
		seen[slug]++
	}
	t.sections[file], t.anchors[file] = secs, anchors
	return secs, nil
}

// Slug is the anchor GitHub gives a heading: lower case, punctuation dropped, spaces as '-'.
func Slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 127 && isLetter(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isLetter(r rune) bool { return strings.ToLower(string(r)) != strings.ToUpper(string(r)) }
