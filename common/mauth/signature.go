package mauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// Signature computes an MAuth signature as OWT does: base64 of the lower-case hex of
// HMAC-SHA256(key, toSign), where toSign is timestamp + "," + cnonce, followed by
// "," + username + "," + role when both are non-empty. username is the raw (base64) header
// value. The result is always 88 characters ending in "==".
func Signature(key, timestamp, cnonce, username, role string) string {
	toSign := timestamp + "," + cnonce
	if username != "" && role != "" {
		toSign += "," + username + "," + role
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(mac.Sum(nil))))
}

// Verify reports whether p carries a valid signature for key. The method must be exactly
// HMAC_SHA256 and the comparison takes constant time.
func (p Params) Verify(key string) bool {
	if p.SignatureMethod != MethodHMACSHA256 {
		return false
	}
	want := Signature(key, p.Timestamp, p.Cnonce, p.Username, p.Role)
	return hmac.Equal([]byte(want), []byte(p.Signature))
}

// User returns the base64-decoded username when the header carries both a username and a role
// (the case in which OWT signs and uses them). Decoding is as lenient as Node's Buffer.from(s,
// "base64"): both alphabets, padding optional, other characters skipped.
func (p Params) User() (string, bool) {
	if p.Username == "" || p.Role == "" {
		return "", false
	}
	return lenientBase64(p.Username), true
}

// lenientBase64 decodes s the way Node does: characters of the standard and URL-safe alphabets
// contribute 6 bits each, '=' ends the data, anything else is skipped, leftover bits are dropped.
func lenientBase64(s string) string {
	out := make([]byte, 0, len(s)*3/4)
	var acc uint32
	var bits uint
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '=' {
			break
		}
		v, ok := base64Value(c)
		if !ok {
			continue
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
			acc &= 1<<bits - 1
		}
	}
	return string(out)
}

// base64Value maps one character of either base64 alphabet to its 6-bit value.
func base64Value(c byte) (byte, bool) {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A', true
	case c >= 'a' && c <= 'z':
		return c - 'a' + 26, true
	case c >= '0' && c <= '9':
		return c - '0' + 52, true
	case c == '+' || c == '-':
		return 62, true
	case c == '/' || c == '_':
		return 63, true
	}
	return 0, false
}
