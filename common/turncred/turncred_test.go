package turncred

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/secret"
)

const vectorSecret = "north-wind"

// TestTURNCredPasswordVectors checks Password against values computed with
// printf '%s' "$U" | openssl dgst -sha1 -hmac north-wind -binary | base64.
func TestTURNCredPasswordVectors(t *testing.T) {
	for _, v := range []struct{ secret, username, want string }{
		{vectorSecret, "1700000000:alice", "Oko4dt8u/EbTRjRUJWQDFm/zTCc="},
		{vectorSecret, "4102444800:6b023cf6743bf592736b5021", "jRd5+Bf75l2uXGCgEnHn1BR2440="},
		{vectorSecret, "1700000000", "cVe3L6GK/DCmTQvTcoiurB547Vo="},
		{vectorSecret, "1700000000:a:b", "JmaCciyW6pxHNFjdJ3i6qA7Adrk="},
		{"", "1700000000:alice", "rqBBD+hnu5lsggfwzdJtEMIA/sc="},
	} {
		if got := Password(v.secret, v.username); got != v.want {
			t.Errorf("Password(%q, %q) = %q, want %q", v.secret, v.username, got, v.want)
		}
	}
}

func TestTURNCredNew(t *testing.T) {
	now := time.Unix(1699999000, 123456789)
	c := New(vectorSecret, "alice", 1000*time.Second, now)
	if c.Username != "1700000000:alice" || c.Password != "Oko4dt8u/EbTRjRUJWQDFm/zTCc=" {
		t.Fatalf("New = %+v", c)
	}
	if !c.Expires.Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("Expires = %v", c.Expires)
	}
	if c := New(vectorSecret, "", 1000*time.Second, now); c.Username != "1700000000" || c.Password != "cVe3L6GK/DCmTQvTcoiurB547Vo=" {
		t.Fatalf("New without user = %+v", c)
	}
}

func TestTURNCredCheckExpiry(t *testing.T) {
	exp := time.Unix(1700000000, 0)
	for _, tc := range []struct {
		name string
		now  time.Time
		want error
	}{
		{"long before", exp.Add(-12 * time.Hour), nil},
		{"expiry second", exp.Add(999 * time.Millisecond), nil},
		{"one second late", exp.Add(time.Second), ErrExpired},
		{"long after", exp.Add(24 * time.Hour), ErrExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user, err := Check(vectorSecret, "1700000000:alice", tc.now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check err = %v, want %v", err, tc.want)
			}
			if err == nil && user != "alice" {
				t.Fatalf("user = %q", user)
			}
		})
	}
}

func TestTURNCredCheckNames(t *testing.T) {
	now := time.Unix(1600000000, 0)
	for _, tc := range []struct {
		username, user string
		want           error
	}{
		{"1700000000:alice", "alice", nil},
		{"1700000000", "", nil},
		{"1700000000:", "", nil},
		{"1700000000:a:b", "a:b", nil},
		{"0001700000000:x", "x", nil},
		{"", "", ErrMalformed},
		{"alice", "", ErrMalformed},
		{":alice", "", ErrMalformed},
		{"alice:1700000000", "", ErrMalformed},
		{"+1700000000:alice", "", ErrMalformed},
		{"-1:alice", "", ErrMalformed},
		{" 1700000000:alice", "", ErrMalformed},
		{"17000000x0:alice", "", ErrMalformed},
		{"1.7e9:alice", "", ErrMalformed},
		{"99999999999999999999:alice", "", ErrMalformed},
		{"١٧٠٠٠٠٠٠٠٠:alice", "", ErrMalformed}, // Arabic-Indic digits
		{"1500000000:alice", "", ErrExpired},
	} {
		t.Run(tc.username, func(t *testing.T) {
			user, err := Check(vectorSecret, tc.username, now)
			if !errors.Is(err, tc.want) || user != tc.user {
				t.Fatalf("Check(%q) = %q, %v; want %q, %v", tc.username, user, err, tc.user, tc.want)
			}
		})
	}
}

func TestTURNCredCheckNoSecret(t *testing.T) {
	c := New("", "alice", time.Hour, time.Now())
	if _, err := Check("", c.Username, time.Now()); !errors.Is(err, ErrNoSecret) {
		t.Fatalf("Check with empty secret: %v", err)
	}
}

func TestTURNCredSecretFromKey(t *testing.T) {
	var k secret.Key
	for i := range k {
		k[i] = byte(i)
	}
	// HKDF-SHA256(salt = 32 zero bytes, IKM = 00 01 … 1f, info = "conclave/turn/rest-secret"),
	// computed with Python's hmac module.
	const want = "26e8249b4c193b8bbf0e01c67d7559f8252e2779c802a8c8ee408b1d6a358eb5"
	if got := SecretFromKey(k); got != want {
		t.Fatalf("SecretFromKey = %s, want %s", got, want)
	}
	if got := SecretFromKey(secret.Key{}); got != "" {
		t.Fatalf("SecretFromKey(zero) = %q, want empty", got)
	}
}

func FuzzCheck(f *testing.F) {
	f.Add("1700000000:alice", "alice", int64(1699999000), int64(600))
	f.Add("1700000000", "", int64(1700000000), int64(0))
	f.Add("9223372036854775807:x", "a:b", int64(0), int64(1))
	f.Add("-5:", "\x00", int64(-1), int64(-1))
	f.Add("00:00:00", "::", int64(1<<40), int64(1<<40))
	f.Fuzz(func(t *testing.T, username, user string, nowSec, ttlSec int64) {
		now := time.Unix(nowSec, 0)
		got, err := Check(vectorSecret, username, now)
		if err == nil && !strings.HasSuffix(username, got) {
			t.Fatalf("Check(%q) = user %q, not a suffix", username, got)
		}
		// A credential New issued checks OK, with its user, up to its expiry.
		if ttlSec < 0 || ttlSec > 1<<32 || nowSec < 0 || nowSec > 1<<40 {
			return
		}
		c := New(vectorSecret, user, time.Duration(ttlSec)*time.Second, now)
		got, err = Check(vectorSecret, c.Username, now)
		if err != nil || got != user {
			t.Fatalf("Check(New(%q)) = %q, %v", user, got, err)
		}
		if _, err := Check(vectorSecret, c.Username, c.Expires.Add(time.Second)); !errors.Is(err, ErrExpired) {
			t.Fatalf("Check after expiry: %v", err)
		}
		if raw, err := base64.StdEncoding.DecodeString(c.Password); err != nil || len(raw) != 20 {
			t.Fatalf("password %q is not base64 of 20 bytes", c.Password)
		}
	})
}
