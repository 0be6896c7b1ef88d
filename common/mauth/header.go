// Package mauth implements OWT's MAuth scheme for the management REST API: the parsing quirks of
// OWT's mauthParser.parseHeader, the HMAC-SHA256 signature of serverAuthenticator.js, the
// header the OWT JavaScript REST client builds, and an optional replay guard that OWT itself
// ships disabled.
package mauth

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxHeaderLen bounds the Authorization header accepted by Parse. Canonical headers are about
// 250 bytes; with a username and role they stay well under 1 KiB.
const MaxHeaderLen = 4096

// Realm is the realm the OWT clients send. The server ignores its value.
const Realm = "http://marte3.dit.upm.es"

// MethodHMACSHA256 is the only signature method OWT accepts.
const MethodHMACSHA256 = "HMAC_SHA256"

// keyCut is the number of leading characters OWT strips from every key ("mauth_", "MAuth ").
const keyCut = 6

// Params holds the MAuth parameters of one request, as raw header strings.
type Params struct {
	Realm           string
	SignatureMethod string
	ServiceID       string
	Timestamp       string
	Cnonce          string
	Signature       string
	// Username is still base64-encoded; User decodes it.
	Username string
	Role     string
}

// Parse splits an Authorization header exactly as OWT's parseHeader does: the header is split
// on ',', each piece on '='; the value is the concatenation of the pieces after the first, an
// empty piece standing for '=' (which restores base64 padding but drops a lone '=' inside a
// value); the key is the first piece without its first 6 characters. So "mauth_serviceid"
// becomes "serviceid", a space after a comma shifts the cut, quotes stay in values, and a later
// duplicate key wins. Unknown keys are ignored as OWT ignores them.
//
// Unlike OWT, which would look up a service "undefined", Parse reports ErrMalformed when the
// service id or signature is missing, when a key is shorter than 6 characters, or when the header
// exceeds MaxHeaderLen.
func Parse(header string) (Params, error) {
	if header == "" {
		return Params{}, ErrNoHeader
	}
	if len(header) > MaxHeaderLen {
		return Params{}, fmt.Errorf("%w: header longer than %d bytes", ErrMalformed, MaxHeaderLen)
	}
	var p Params
	for _, piece := range strings.Split(header, ",") {
		key, value := splitPiece(piece)
		if len(key) < keyCut {
			return Params{}, fmt.Errorf("%w: key %q is shorter than %d characters", ErrMalformed, key, keyCut)
		}
		p.set(key[keyCut:], value)
	}
	if p.ServiceID == "" {
		return Params{}, fmt.Errorf("%w: no serviceid", ErrMalformed)
	}
	if p.Signature == "" {
		return Params{}, fmt.Errorf("%w: no signature", ErrMalformed)
	}
	return p, nil
}

// splitPiece returns the key and the OWT-reassembled value of one comma-separated piece.
func splitPiece(piece string) (key, value string) {
	parts := strings.Split(piece, "=")
	var b strings.Builder
	for _, part := range parts[1:] {
		if part == "" {
			b.WriteByte('=')
			continue
		}
		b.WriteString(part)
	}
	return parts[0], b.String()
}

// set stores one parsed parameter; keys OWT does not use are dropped.
func (p *Params) set(key, value string) {
	switch key {
	case "realm":
		p.Realm = value
	case "signature_method":
		p.SignatureMethod = value
	case "serviceid":
		p.ServiceID = value
	case "timestamp":
		p.Timestamp = value
	case "cnonce":
		p.Cnonce = value
	case "signature":
		p.Signature = value
	case "username":
		p.Username = value
	case "role":
		p.Role = value
	}
}

// Header returns the Authorization header OWT's JavaScript REST client (API.js send) builds for
// a request made at timestamp (milliseconds) with the given cnonce: no spaces, no quotes, no
// username or role.
func Header(serviceID, key string, timestamp int64, cnonce string) string {
	ts := strconv.FormatInt(timestamp, 10)
	return "MAuth realm=" + Realm +
		",mauth_signature_method=" + MethodHMACSHA256 +
		",mauth_serviceid=" + serviceID +
		",mauth_cnonce=" + cnonce +
		",mauth_timestamp=" + ts +
		",mauth_signature=" + Signature(key, ts, cnonce, "", "")
}
