// Package streamkey makes and checks stream keys: long-lived, revocable WHIP bearer
// credentials for encoders such as OBS (docs/whip-whep.md). A key string is
// "csk_<id>_<secret>": the id finds the stored record (store.StreamKey), whose Hash is the
// hex SHA-256 of the secret, so a leaked database does not leak usable keys. The secret has
// 256 random bits, so a plain hash is enough (no password stretching is needed).
package streamkey

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"

	"github.com/conclave-rtc/conclave/common/ids"
)

// Prefix starts every stream key; anything else given as a WHIP bearer is a room token.
const Prefix = "csk_"

// secretBytes is the size of a key's random secret.
const secretBytes = 32

// New returns the key string for the record id and the hash to store.
func New(id string) (key, hash string) {
	secret := ids.RandomHex(secretBytes)
	return Prefix + id + "_" + secret, Hash(secret)
}

// Hash returns the stored form of a secret.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Is reports whether s has the form of a stream key (it may still be unknown or wrong).
func Is(s string) bool { return strings.HasPrefix(s, Prefix) }

// Parse splits a key string into its id and secret; ok is false when it is not one.
func Parse(s string) (id, secret string, ok bool) {
	rest, found := strings.CutPrefix(s, Prefix)
	if !found {
		return "", "", false
	}
	id, secret, found = strings.Cut(rest, "_")
	if !found || len(id) != 24 || len(secret) != 2*secretBytes || !isHex(id) || !isHex(secret) {
		return "", "", false
	}
	return id, secret, true
}

// Matches reports, in constant time, whether secret hashes to hash.
func Matches(hash, secret string) bool {
	return subtle.ConstantTimeCompare([]byte(hash), []byte(Hash(secret))) == 1
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}
