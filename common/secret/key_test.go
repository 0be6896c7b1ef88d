package secret

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func mustGenerate(t testing.TB) Key {
	t.Helper()
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyParse(t *testing.T) {
	k := mustGenerate(t)
	raw := k[:]
	tests := []struct {
		name    string
		in      string
		wantErr error
	}{
		{"std padded", base64.StdEncoding.EncodeToString(raw), nil},
		{"std unpadded", base64.RawStdEncoding.EncodeToString(raw), nil},
		{"url unpadded", base64.RawURLEncoding.EncodeToString(raw), nil},
		{"surrounding space", "  " + base64.StdEncoding.EncodeToString(raw) + "\n", nil},
		{"too short", base64.StdEncoding.EncodeToString(raw[:31]), ErrBadKey},
		{"too long", base64.StdEncoding.EncodeToString(append(raw, 1)), ErrBadKey},
		{"not base64", strings.Repeat("!", 44), ErrBadKey},
		{"empty", "", ErrBadKey},
		{"zero", base64.StdEncoding.EncodeToString(make([]byte, KeySize)), ErrBadKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Parse error = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && got != k {
				t.Fatal("Parse returned a different key")
			}
		})
	}
}

func TestKeyBase64RoundTrip(t *testing.T) {
	k := mustGenerate(t)
	got, err := Parse(k.Base64())
	if err != nil || got != k {
		t.Fatalf("Parse(Base64()) = %v, %v", got == k, err)
	}
}

func TestKeyStringRedacted(t *testing.T) {
	k := mustGenerate(t)
	for _, verb := range []string{"%v", "%s", "%+v", "%#v", "%x", "%q"} {
		out := fmt.Sprintf(verb, k)
		if strings.Contains(out, k.Base64()) || strings.Contains(out, fmt.Sprintf("%x", k[:])) ||
			strings.Contains(out, fmt.Sprint(k[:])[1:20]) {
			t.Errorf("%s printed key material: %s", verb, out)
		}
	}
}

func TestKeyDerive(t *testing.T) {
	k := mustGenerate(t)
	a, b := k.Derive("a"), k.Derive("b")
	if a == b || a == k || b == k {
		t.Fatal("derived keys must differ from each other and from the root")
	}
	if k.Derive("a") != a {
		t.Fatal("Derive must be deterministic")
	}
	// Cross-check the hand-rolled one-block HKDF against the standard library.
	want, err := hkdf.Key(sha256.New, k[:], nil, "conclave/a", KeySize)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a[:], want) {
		t.Fatal("Derive does not match RFC 5869 HKDF-SHA256")
	}
}

func TestKeyLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "cluster.key")
	k1, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %04o, want 0600", fi.Mode().Perm())
	}
	k2, err := LoadOrCreate(path)
	if err != nil || k2 != k1 {
		t.Fatalf("second LoadOrCreate: same=%v err=%v", k2 == k1, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("leftover temporary files: %v", entries)
	}
}

func TestKeyLoadOrCreateConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.key")
	const n = 8
	keys := make([]Key, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = LoadOrCreate(path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || keys[i] != keys[0] {
			t.Fatalf("caller %d: same=%v err=%v", i, keys[i] == keys[0], errs[i])
		}
	}
}

func TestKeyLoadOrCreateRefuses(t *testing.T) {
	good := mustGenerate(t).Base64() + "\n"
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		wantErr error
	}{
		{"group readable", good, 0o640, ErrKeyFilePerm},
		{"world readable", good, 0o604, ErrKeyFilePerm},
		{"group writable", good, 0o620, ErrKeyFilePerm},
		{"wrong size", base64.StdEncoding.EncodeToString(make([]byte, 16)), 0o600, ErrBadKey},
		{"garbage", "not a key at all", 0o600, ErrBadKey},
		{"huge", strings.Repeat("A", 4096), 0o600, ErrBadKey},
		{"owner only ok", good, 0o400, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cluster.key")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreate(path)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			after, _ := os.ReadFile(path)
			if string(after) != tc.content {
				t.Error("LoadOrCreate overwrote an existing file")
			}
		})
	}
}

func TestKeyLoadOrCreateDirectory(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadOrCreate(dir); !errors.Is(err, ErrBadKey) {
		t.Fatalf("err = %v, want ErrBadKey", err)
	}
}
