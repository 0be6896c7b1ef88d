package client

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestClientDecodeToken(t *testing.T) {
	tests := []struct {
		name, token, url, ws string
	}{
		{"reference example", b64(`{"tokenId":"65a1b2c3d4e5f60718293a4b","host":"10.0.0.5:8080","secure":true,"signature":"NGY1"}`),
			"https://10.0.0.5:8080", "wss://10.0.0.5:8080"},
		{"insecure", b64(`{"tokenId":"a","host":"127.0.0.1:8080","secure":false,"signature":"x"}`), "http://127.0.0.1:8080", "ws://127.0.0.1:8080"},
		{"via host with scheme", b64(`{"host":"https://portal.example:443","secure":false}`), "https://portal.example:443", "wss://portal.example:443"},
		{"ipv6", b64(`{"host":"[::1]:8080"}`), "http://[::1]:8080", "ws://[::1]:8080"},
		{"unpadded", base64.RawStdEncoding.EncodeToString([]byte(`{"host":"h:1"}`)), "http://h:1", "ws://h:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := DecodeToken(tt.token)
			if err != nil {
				t.Fatal(err)
			}
			if tok.URL() != tt.url || tok.WebSocketURL() != tt.ws {
				t.Fatalf("URL %q ws %q", tok.URL(), tok.WebSocketURL())
			}
		})
	}
	tok, _ := DecodeToken(tests[0].token)
	if tok.TokenID != "65a1b2c3d4e5f60718293a4b" || !tok.Secure || tok.Signature != "NGY1" {
		t.Fatalf("token %+v", tok)
	}
	for _, bad := range []string{"", "!!", b64(`[]`), b64(`{"host":5}`), b64(`{"host":""}`), b64(`{"tokenId":"a"}`), b64(`{`)} {
		if _, err := DecodeToken(bad); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("DecodeToken(%q) = %v", bad, err)
		}
	}
}

func TestClientParseAck(t *testing.T) {
	raw := func(s ...string) []json.RawMessage {
		out := make([]json.RawMessage, len(s))
		for i, x := range s {
			out[i] = json.RawMessage(x)
		}
		return out
	}
	if d, err := parseAck("x", raw(`"ok"`, `{"id":"a"}`)); err != nil || string(d) != `{"id":"a"}` {
		t.Fatalf("ok: %s %v", d, err)
	}
	if d, err := parseAck("x", raw(`"success"`)); err != nil || d != nil {
		t.Fatalf("success: %s %v", d, err)
	}
	var se *ServerError
	if _, err := parseAck("soac", raw(`"error"`, `"Transport t does NOT exist"`)); !errors.As(err, &se) || se.Message != "Transport t does NOT exist" {
		t.Fatalf("error: %v", err)
	}
	for _, bad := range [][]json.RawMessage{nil, raw(`1`), raw(`"maybe"`)} {
		if _, err := parseAck("x", bad); !errors.Is(err, ErrBadResponse) {
			t.Fatalf("parseAck(%s) = %v", bad, err)
		}
	}
}

func FuzzClientDecodeToken(f *testing.F) {
	for _, s := range []string{b64(`{"host":"h:1","secure":true}`), b64(`{"host":"http://x"}`), b64(`{"host":null}`), "", "e30="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := DecodeToken(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error %v is not ErrInvalidToken", err)
			}
			return
		}
		if tok.Host == "" || tok.URL() == "" || tok.WebSocketURL() == "" {
			t.Fatalf("accepted token without a usable host: %+v", tok)
		}
	})
}
