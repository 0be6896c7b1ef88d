package room

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/common/errs"
)

// wantBadRequest fails t unless err is a 400/1301 whose message contains want.
func wantBadRequest(t *testing.T, what string, err error, want string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Status != 400 || e.Code != errs.CodeBadRequest {
		t.Fatalf("%s: error %v, want a 400/1301", what, err)
	}
	if !strings.Contains(e.Message, want) {
		t.Fatalf("%s: message %q, want it to contain %q", what, e.Message, want)
	}
}

func TestRoomPathCheck(t *testing.T) {
	valid := []string{"a", "team/standup", "team-standup", "a.b_c~d-e", "0/1/2", "x..y", ".hidden/a",
		strings.Repeat("a", MaxPathLen), strings.Repeat("ab/", MaxPathLen/3-1) + "ab"}
	for _, p := range valid {
		if err := CheckPath("path", p); err != nil {
			t.Errorf("CheckPath(%q) = %v, want nil", p, err)
		}
	}
	invalid := []struct{ path, msg string }{
		{"", "path must not be empty"},
		{strings.Repeat("a", MaxPathLen+1), "at most 128 bytes"},
		{"Team", `found 'T'`},
		{"a b", `found ' '`},
		{"a?b", `found '?'`},
		{"a%2Fb", `found '%'`},
		{"caf\u00e9", `found 'é'`},
		{"\xff", `found '�'`},
		{"a\x00", `found '\x00'`},
		{"/a", `must not start or end with "/"`},
		{"a/", `must not start or end with "/"`},
		{"a//b", `contain "//"`},
		{"/", `must not start or end with "/"`},
		{".", `"." or ".." segment`},
		{"a/../b", `"." or ".." segment`},
		{"a/.", `"." or ".." segment`},
	}
	for _, tc := range invalid {
		wantBadRequest(t, "CheckPath("+tc.path+")", CheckPath("path", tc.path), tc.msg)
	}
}

func TestRoomPathCreate(t *testing.T) {
	tests := []struct {
		body string
		path string
		pool bool
	}{
		{`{"name":"r"}`, "", false},
		{`{"name":"r","path":"team/standup"}`, "team/standup", false},
		{`{"name":"r","pool":true}`, "", true},
		{`{"name":"r","options":{"path":"a","pool":true,"inputLimit":2}}`, "a", true},
		{`{"name":"r","path":"a","options":{"pool":true}}`, "a", true},
		{`{"name":"r","path":"","pool":false}`, "", false},
		{`{"name":"r","path":null,"options":{"path":""}}`, "", false},
	}
	for _, tc := range tests {
		r, err := ParseCreate([]byte(tc.body))
		if err != nil {
			t.Fatalf("ParseCreate(%s): %v", tc.body, err)
		}
		if r.Path != tc.path || r.Pool != tc.pool {
			t.Errorf("ParseCreate(%s) = path %q pool %v, want %q %v", tc.body, r.Path, r.Pool, tc.path, tc.pool)
		}
		if cfg := string(r.Config()); strings.Contains(cfg, `"path"`) || strings.Contains(cfg, `"pool"`) {
			t.Errorf("ParseCreate(%s): the stored configuration has the extension keys: %s", tc.body, cfg)
		}
	}
	bad := []struct{ body, msg string }{
		{`{"name":"r","path":"Team"}`, "path may only contain"},
		{`{"name":"r","options":{"path":"a//b"}}`, "path must not start or end"},
		{`{"name":"r","path":5}`, "path must be a string"},
		{`{"name":"r","options":{"path":["a"]}}`, "options.path must be a string"},
		{`{"name":"r","pool":"yes"}`, "pool must be a boolean"},
		{`{"name":"r","path":"a","options":{"path":"a"}}`, "not both"},
		{`{"name":"r","pool":true,"options":{"pool":true}}`, "not both"},
		{`{"name":"r","paths":"a"}`, "unknown key paths"},
	}
	for _, tc := range bad {
		_, err := ParseCreate([]byte(tc.body))
		wantBadRequest(t, "ParseCreate("+tc.body+")", err, tc.msg)
	}
}

func TestRoomPathUpdate(t *testing.T) {
	cur := Default("r")
	cur.ID, cur.Path, cur.Pool = "65a1b2c3d4e5f60718293a4b", "old", true
	tests := []struct {
		body string
		path string
		pool bool
	}{
		{`{"inputLimit":4}`, "old", true}, // absent keys keep the current values
		{`{"path":null,"pool":null}`, "old", true},
		{`{"path":"new/one"}`, "new/one", true},
		{`{"path":""}`, "", true}, // "" removes the path
		{`{"pool":false}`, "old", false},
	}
	for _, tc := range tests {
		r, err := ParseUpdate(cur, []byte(tc.body))
		if err != nil {
			t.Fatalf("ParseUpdate(%s): %v", tc.body, err)
		}
		if r.ID != cur.ID || r.Path != tc.path || r.Pool != tc.pool {
			t.Errorf("ParseUpdate(%s) = %s path %q pool %v, want path %q pool %v", tc.body, r.ID, r.Path, r.Pool, tc.path, tc.pool)
		}
	}
	// A GET answer sent back unchanged is accepted and changes nothing.
	got, err := json.Marshal(cur)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseUpdate(cur, got)
	if err != nil || r.Path != cur.Path || r.Pool != cur.Pool {
		t.Fatalf("ParseUpdate(GET answer) = path %q pool %v, %v", r.Path, r.Pool, err)
	}
	for _, tc := range []struct{ body, msg string }{
		{`{"path":"A"}`, "path may only contain"},
		{`{"path":true}`, "path must be a string"},
		{`{"pool":1}`, "pool must be a boolean"},
	} {
		_, err := ParseUpdate(cur, []byte(tc.body))
		wantBadRequest(t, "ParseUpdate("+tc.body+")", err, tc.msg)
	}
}

func TestRoomPathRESTShape(t *testing.T) {
	r := Default("r")
	r.ID = "65a1b2c3d4e5f60718293a4b"
	plain, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(plain), `"path"`) || strings.Contains(string(plain), `"pool"`) {
		t.Fatalf("a room without path and pool shows the extension keys: %s", plain)
	}
	r.Path, r.Pool = "team/standup", true
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	if got["path"] != "team/standup" || got["pool"] != true || got["_id"] != r.ID || got["__v"] != 0.0 {
		t.Fatalf("REST shape %s", b)
	}
	listed, err := AppendREST(nil, Ref{ID: r.ID, Path: r.Path, Pool: r.Pool}, r.Config())
	if err != nil || string(listed) != string(b) {
		t.Fatalf("AppendREST = %s, %v; want %s", listed, err, b)
	}
}

// pathRule is CheckPath's rule written independently, as one regular expression.
var pathRule = regexp.MustCompile(`^[a-z0-9._~-]+(/[a-z0-9._~-]+)*$`)

// FuzzCheckPath: CheckPath accepts exactly the paths of the documented rule, and refuses the
// others with a 400/1301.
func FuzzCheckPath(f *testing.F) {
	for _, s := range []string{"a", "team/standup", "a//b", "/a", "..", "a/./b", "Team", "é", "a b", strings.Repeat("x", 129)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := CheckPath("path", p)
		want := len(p) <= MaxPathLen && pathRule.MatchString(p)
		for seg := range strings.SplitSeq(p, "/") {
			if seg == "." || seg == ".." {
				want = false
			}
		}
		if (err == nil) != want {
			t.Fatalf("CheckPath(%q) = %v, want accepted %v", p, err, want)
		}
		var e *errs.Error
		if err != nil && (!errors.As(err, &e) || e.Code != errs.CodeBadRequest || e.Status != 400) {
			t.Fatalf("CheckPath(%q) error %v is not a 400/1301", p, err)
		}
	})
}
