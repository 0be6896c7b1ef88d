package client

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// Token is the decoded content of a conference token (owt-protocol.md §3.1). Clients never
// verify the signature; they only need the portal's address.
type Token struct {
	TokenID         string `json:"tokenId"`
	Host            string `json:"host"`
	Secure          bool   `json:"secure"`
	WebTransportURL string `json:"webTransportUrl,omitempty"`
	Signature       string `json:"signature"`
}

// DecodeToken decodes a base64 JSON token and checks that it names a host.
func DecodeToken(token string) (Token, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(token), "="))
	}
	if err != nil {
		return Token{}, fmt.Errorf("%w: base64: %w", ErrInvalidToken, err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Token{}, fmt.Errorf("%w: json: %w", ErrInvalidToken, err)
	}
	var t Token
	// The host must be a string, as the JS SDK requires; other fields are best effort.
	if err := json.Unmarshal(fields["host"], &t.Host); err != nil || t.Host == "" {
		return Token{}, fmt.Errorf("%w: host is not a non-empty string", ErrInvalidToken)
	}
	_ = json.Unmarshal(fields["tokenId"], &t.TokenID)
	_ = json.Unmarshal(fields["secure"], &t.Secure)
	_ = json.Unmarshal(fields["webTransportUrl"], &t.WebTransportURL)
	_ = json.Unmarshal(fields["signature"], &t.Signature)
	return t, nil
}

// URL is the portal's URL as the JS SDK computes it: the host itself when it contains
// "http", otherwise https:// or http:// (per Secure) followed by the host.
func (t Token) URL() string {
	if strings.Contains(t.Host, "http") {
		return t.Host
	}
	if t.Secure {
		return "https://" + t.Host
	}
	return "http://" + t.Host
}

// WebSocketURL is URL with the scheme replaced by ws or wss.
func (t Token) WebSocketURL() string {
	u := t.URL()
	switch {
	case strings.HasPrefix(u, "https://"):
		return "wss://" + strings.TrimPrefix(u, "https://")
	case strings.HasPrefix(u, "http://"):
		return "ws://" + strings.TrimPrefix(u, "http://")
	}
	return u
}
