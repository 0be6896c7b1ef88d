package secret

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func newTestBox(t testing.TB) *Box {
	t.Helper()
	b, err := NewBox(mustGenerate(t).Derive(PurposeServiceKey))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBoxRoundTrip(t *testing.T) {
	b := newTestBox(t)
	for _, plain := range [][]byte{nil, {}, []byte("k"), bytes.Repeat([]byte("x"), 4096)} {
		text, err := b.Seal(plain, []byte("svc-1"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(text, "v1:") {
			t.Fatalf("text %q lacks version prefix", text)
		}
		got, err := b.Open(text, []byte("svc-1"))
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Open = %q, %v; want %q", got, err, plain)
		}
	}
}

func TestBoxSealIsRandomized(t *testing.T) {
	b := newTestBox(t)
	x, _ := b.Seal([]byte("same"), nil)
	y, _ := b.Seal([]byte("same"), nil)
	if x == y {
		t.Fatal("two seals of the same plaintext are equal: nonce reuse")
	}
	if strings.Contains(x, "same") {
		t.Fatal("plaintext visible in sealed text")
	}
}

func TestBoxOpenRejects(t *testing.T) {
	b := newTestBox(t)
	other := newTestBox(t)
	good, err := b.Seal([]byte("service key"), []byte("svc-1"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(good, "v1:"))
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)-1] ^= 1
	tests := []struct {
		name    string
		box     *Box
		text    string
		ad      string
		wantErr error
	}{
		{"wrong additional data", b, good, "svc-2", ErrDecrypt},
		{"wrong key", other, good, "svc-1", ErrDecrypt},
		{"tampered", b, "v1:" + base64.RawURLEncoding.EncodeToString(flipped), "svc-1", ErrDecrypt},
		{"no prefix", b, strings.TrimPrefix(good, "v1:"), "svc-1", ErrMalformed},
		{"unknown version", b, "v2:" + strings.TrimPrefix(good, "v1:"), "svc-1", ErrMalformed},
		{"bad base64", b, "v1:***", "svc-1", ErrMalformed},
		{"too short", b, "v1:" + base64.RawURLEncoding.EncodeToString(raw[:20]), "svc-1", ErrMalformed},
		{"empty", b, "", "", ErrMalformed},
		{"too long", b, "v1:" + strings.Repeat("A", maxSealedLen+1), "", ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.box.Open(tc.text, []byte(tc.ad))
			if !errors.Is(err, tc.wantErr) || got != nil {
				t.Fatalf("Open = %q, %v; want %v", got, err, tc.wantErr)
			}
		})
	}
}

func TestBoxRejectsZeroKey(t *testing.T) {
	if _, err := NewBox(Key{}); !errors.Is(err, ErrBadKey) {
		t.Fatalf("err = %v, want ErrBadKey", err)
	}
}

func FuzzBoxOpen(f *testing.F) {
	k, err := Parse("q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=")
	if err != nil {
		f.Fatal(err)
	}
	b, err := NewBox(k)
	if err != nil {
		f.Fatal(err)
	}
	sealed, err := b.Seal([]byte("secret"), []byte("ad"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed, []byte("ad"))
	f.Add(sealed, []byte("other"))
	f.Add("v1:", []byte(nil))
	f.Add("v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", []byte(nil))
	f.Add("v1:=", []byte(nil))
	f.Add("", []byte(nil))
	f.Add("v2:abc", []byte("x"))
	f.Fuzz(func(t *testing.T, text string, ad []byte) {
		plain, err := b.Open(text, ad)
		if err != nil {
			if plain != nil {
				t.Fatal("plaintext returned with an error")
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDecrypt) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		// Anything that opens must be the sealed seed (forgery would be a GCM break).
		if string(plain) != "secret" || string(ad) != "ad" {
			t.Fatalf("opened unexpected plaintext %q with ad %q", plain, ad)
		}
	})
}
