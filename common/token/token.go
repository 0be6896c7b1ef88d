// Package token builds and checks the room-join tokens of OWT 5.x: base64 of a JSON object
// {tokenId, host, secure, [webTransportUrl], signature} whose signature is an HMAC-SHA256 over
// "tokenId,host,webTransportUrl" with the cluster's token key (management_api
// tokensResource.js; portal.js checks it on login).
package token

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// MaxLen bounds the token string Decode accepts. Real tokens are about 250 characters.
const MaxLen = 4096

// undefinedURL is what JavaScript string concatenation makes of an absent webTransportUrl;
// OWT signs it literally.
const undefinedURL = "undefined"

// Token is the decoded content of a join token.
type Token struct {
	TokenID string
	Host    string
	Secure  bool
	// WebTransportURL is empty when WebTransport is disabled (the JSON field is then absent).
	WebTransportURL string
	Signature       string
}

// Sign returns base64(hex(HMAC-SHA256(key, tokenID + "," + host + "," + webTransportURL))), where
// an empty webTransportURL is signed as the literal "undefined", as OWT 5.x does.
func Sign(key, tokenID, host, webTransportURL string) string {
	if webTransportURL == "" {
		webTransportURL = undefinedURL
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(tokenID + "," + host + "," + webTransportURL))
	return base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(mac.Sum(nil))))
}

// Encode signs a token without WebTransport and returns the string handed to clients.
func Encode(key, tokenID, host string, secure bool) string {
	return Seal(key, Token{TokenID: tokenID, Host: host, Secure: secure})
}

// Seal signs t with key (replacing t.Signature) and returns base64 of the JSON that OWT's
// JSON.stringify produces: keys tokenId, host, secure, webTransportUrl (only when set),
// signature, with no spaces.
func Seal(key string, t Token) string {
	t.Signature = Sign(key, t.TokenID, t.Host, t.WebTransportURL)
	return base64.StdEncoding.EncodeToString(t.JSON())
}

// JSON returns t as JSON.stringify would write the object OWT builds.
func (t Token) JSON() []byte {
	var b bytes.Buffer
	b.WriteString(`{"tokenId":`)
	writeJSString(&b, t.TokenID)
	b.WriteString(`,"host":`)
	writeJSString(&b, t.Host)
	fmt.Fprintf(&b, `,"secure":%t`, t.Secure)
	if t.WebTransportURL != "" {
		b.WriteString(`,"webTransportUrl":`)
		writeJSString(&b, t.WebTransportURL)
	}
	b.WriteString(`,"signature":`)
	writeJSString(&b, t.Signature)
	b.WriteByte('}')
	return b.Bytes()
}

// writeJSString quotes s like JSON.stringify: only '"', '\\' and control characters are
// escaped (Go's encoder would also escape <, >, &, U+2028 and U+2029). Invalid UTF-8 becomes
// U+FFFD, as a JavaScript string cannot hold it.
func writeJSString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// Decode parses a token string: standard base64 (padding optional) of a JSON object with string
// tokenId, host and signature, an optional boolean secure and an optional string
// webTransportUrl. Keys match case-sensitively and other keys are ignored, as in the portal's
// JSON.parse. It does not verify the signature.
func Decode(s string) (Token, error) {
	if len(s) > MaxLen {
		return Token{}, fmt.Errorf("%w (%d > %d bytes)", ErrTooLong, len(s), MaxLen)
	}
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return Token{}, fmt.Errorf("%w: not base64: %w", ErrMalformed, err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return Token{}, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	var t Token
	for _, f := range []struct {
		name     string
		dst      any
		required bool
	}{
		{"tokenId", &t.TokenID, true},
		{"host", &t.Host, true},
		{"secure", &t.Secure, false},
		{"webTransportUrl", &t.WebTransportURL, false},
		{"signature", &t.Signature, true},
	} {
		if err := decodeField(fields, f.name, f.dst, f.required); err != nil {
			return Token{}, err
		}
	}
	return t, nil
}

// decodeField decodes fields[name] into dst, whose Go type (string or bool) is the only JSON
// type accepted. null counts as absent.
func decodeField(fields map[string]json.RawMessage, name string, dst any, required bool) error {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		if required {
			return fmt.Errorf("%w: %s missing", ErrMalformed, name)
		}
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		kind := "a string"
		if _, isBool := dst.(*bool); isBool {
			kind = "a boolean"
		}
		return fmt.Errorf("%w: %s must be %s", ErrMalformed, name, kind)
	}
	return nil
}

// Verify reports, in constant time, whether t's signature is valid for key.
func (t Token) Verify(key string) bool {
	want := Sign(key, t.TokenID, t.Host, t.WebTransportURL)
	return hmac.Equal([]byte(want), []byte(t.Signature))
}
