// Package turncred issues and checks time-limited TURN credentials in the form of the TURN REST
// API (draft-uberti-behave-turn-rest-00), which coturn implements with use-auth-secret and
// static-auth-secret: the username is "<expiry>:<user>" (expiry in Unix seconds) and the password
// is the standard base64 of HMAC-SHA1(secret, username). Whoever knows the secret can issue
// credentials, so the portal hands them out and any TURN server sharing the secret (the embedded
// one or coturn) accepts them until they expire, without a database.
package turncred

import (
	"crypto/hmac"
	"crypto/sha1" // the TURN REST API defines HMAC-SHA1
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/conclave-rtc/conclave/common/secret"
)

// purpose is the secret.Key.Derive purpose of the default shared secret.
const purpose = "turn/rest-secret"

// Credential is one TURN username and password, valid until Expires.
type Credential struct {
	Username string
	Password string
	// Expires is the last second the credential is accepted in (Check refuses it after).
	Expires time.Time
}

// New issues a credential for user valid for ttl from now. An empty user gives the
// expiry-only username "<expiry>", which coturn accepts too.
func New(secret, user string, ttl time.Duration, now time.Time) Credential {
	expires := now.Add(ttl).Unix()
	username := strconv.FormatInt(expires, 10)
	if user != "" {
		username += ":" + user
	}
	return Credential{Username: username, Password: Password(secret, username), Expires: time.Unix(expires, 0)}
}

// Password returns the password of username: base64(HMAC-SHA1(secret, username)).
func Password(secret, username string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Check parses username and returns its user part (after the first colon; "" for an
// expiry-only name). The password itself is checked by the TURN server through
// MESSAGE-INTEGRITY with the key made from Password(secret, username). A credential is accepted
// through its expiry second, like coturn: ErrExpired once now is past it; ErrMalformed when the
// name does not start with ASCII digits (fitting int64) followed by ":" or the end; ErrNoSecret
// when secret is empty.
func Check(secret, username string, now time.Time) (user string, err error) {
	if secret == "" {
		return "", ErrNoSecret
	}
	digits, user, _ := strings.Cut(username, ":")
	expires, ok := parseExpiry(digits)
	if !ok {
		return "", ErrMalformed
	}
	if now.Unix() > expires {
		return "", ErrExpired
	}
	return user, nil
}

// parseExpiry accepts only ASCII digits: strconv alone would take a sign.
func parseExpiry(digits string) (int64, bool) {
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	return v, err == nil
}

// SecretFromKey returns the default shared secret for a deployment without turn.secret: the hex
// of the cluster key's sub-key for "turn/rest-secret", so every process holding the cluster key
// agrees on it. A zero key (no cluster key) gives "": a secret derived from it would be public.
func SecretFromKey(k secret.Key) string {
	if k.IsZero() {
		return ""
	}
	d := k.Derive(purpose)
	return hex.EncodeToString(d[:])
}
