// Package secret holds the cluster key and the authenticated encryption built on it.
//
// One 32-byte cluster key, shared by every node of a deployment, is the root of all symmetric
// secrets: Derive gives independent sub-keys per purpose (service keys at rest, media-link
// tickets, ...) so that no two uses ever share an AES key, and Box seals small values with
// AES-256-GCM into a compact text form that fits in a database field or a URL.
package secret

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
)

// KeySize is the length of a Key in bytes.
const KeySize = 32

// EnvClusterKey is the environment variable a deployment may use to supply the cluster key as
// base64 instead of a key file.
const EnvClusterKey = "CONCLAVE_CLUSTER_KEY"

// Purposes for Derive used inside the common module. Other packages pick their own strings;
// any distinct string gives an independent key.
const (
	// PurposeServiceKey derives the key that encrypts service keys at rest in the store.
	PurposeServiceKey = "store/service-key"
)

// Key is a 256-bit symmetric key. Its String method never prints the key material, so a Key
// that ends up in a log line or error message does not leak.
type Key [KeySize]byte

// Generate returns a new random key from crypto/rand.
func Generate() (Key, error) {
	var k Key
	if _, err := rand.Read(k[:]); err != nil {
		return Key{}, fmt.Errorf("secret: generate key: %w", err)
	}
	return k, nil
}

// Parse decodes a key supplied as base64 text (standard or URL alphabet, padded or not;
// surrounding white space is ignored), as in the CONCLAVE_CLUSTER_KEY variable or a key file.
func Parse(text string) (Key, error) {
	text = strings.TrimSpace(text)
	raw, err := decodeBase64(text)
	if err != nil {
		return Key{}, fmt.Errorf("%w: not base64", ErrBadKey)
	}
	if len(raw) != KeySize {
		return Key{}, fmt.Errorf("%w: %d bytes, want %d", ErrBadKey, len(raw), KeySize)
	}
	var k Key
	copy(k[:], raw)
	if k.IsZero() {
		return Key{}, fmt.Errorf("%w: all zeros", ErrBadKey)
	}
	return k, nil
}

func decodeBase64(text string) ([]byte, error) {
	text = strings.TrimRight(text, "=")
	if strings.ContainsAny(text, "-_") {
		return base64.RawURLEncoding.DecodeString(text)
	}
	return base64.RawStdEncoding.DecodeString(text)
}

// Base64 returns the key in the standard padded base64 form that Parse accepts. It is the only
// way to get the key material as text; use it to write key files, never to log.
func (k Key) Base64() string { return base64.StdEncoding.EncodeToString(k[:]) }

// String hides the key material.
func (k Key) String() string { return "secret.Key(redacted)" }

// GoString hides the key material from %#v.
func (k Key) GoString() string { return k.String() }

// IsZero reports whether k is the all-zero (unset) key, in constant time.
func (k Key) IsZero() bool {
	var zero Key
	return subtle.ConstantTimeCompare(k[:], zero[:]) == 1
}

// Derive returns the sub-key of k for purpose with HKDF-SHA256 (RFC 5869): extract with an
// empty salt, then expand with info "conclave/"+purpose to one 32-byte block. Sub-keys for
// different purposes are independent, and none reveals k.
func (k Key) Derive(purpose string) Key {
	// Extract: PRK = HMAC-SHA256(salt = HashLen zero bytes, IKM = k).
	ext := hmac.New(sha256.New, make([]byte, sha256.Size))
	ext.Write(k[:])
	prk := ext.Sum(nil)
	// Expand for L = HashLen: T(1) = HMAC-SHA256(PRK, info || 0x01).
	exp := hmac.New(sha256.New, prk)
	exp.Write([]byte("conclave/" + purpose))
	exp.Write([]byte{1})
	var sub Key
	copy(sub[:], exp.Sum(nil))
	return sub
}
