package token

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// The vector of owt-protocol.md §3.1, re-derived with Python's hmac/hashlib/base64.
var (
	vectorKey  = strings.Repeat("0123456789abcdef", 8)
	vectorSig  = "NGY1ZGJmNjM1OTE3MzgzYTRlYTY5ZGJiNGVmYzIxOTNkNTg5OWYzNTEzZWE2NGEzZWRhYjdjOGZmMmIxYTRmNg=="
	vectorJSON = `{"tokenId":"65a1b2c3d4e5f60718293a4b","host":"10.0.0.5:8080","secure":true,"signature":"` + vectorSig + `"}`
)

const (
	vectorID   = "65a1b2c3d4e5f60718293a4b"
	vectorHost = "10.0.0.5:8080"
)

func TestTokenVector(t *testing.T) {
	if got := Sign(vectorKey, vectorID, vectorHost, ""); got != vectorSig {
		t.Fatalf("Sign = %s, want %s", got, vectorSig)
	}
	enc := Encode(vectorKey, vectorID, vectorHost, true)
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != vectorJSON {
		t.Fatalf("JSON =\n%s\nwant\n%s", raw, vectorJSON)
	}
	tok, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	want := Token{TokenID: vectorID, Host: vectorHost, Secure: true, Signature: vectorSig}
	if tok != want {
		t.Fatalf("Decode = %+v, want %+v", tok, want)
	}
	if !tok.Verify(vectorKey) {
		t.Fatal("Verify failed")
	}
}

func TestTokenWebTransport(t *testing.T) {
	tok := Token{TokenID: vectorID, Host: vectorHost, WebTransportURL: "https://10.0.0.5:7700/"}
	enc := Seal(vectorKey, tok)
	raw, _ := base64.StdEncoding.DecodeString(enc)
	wantPrefix := `{"tokenId":"65a1b2c3d4e5f60718293a4b","host":"10.0.0.5:8080","secure":false,"webTransportUrl":"https://10.0.0.5:7700/","signature":"`
	if !strings.HasPrefix(string(raw), wantPrefix) {
		t.Fatalf("JSON = %s", raw)
	}
	got, err := Decode(enc)
	if err != nil || !got.Verify(vectorKey) {
		t.Fatalf("Decode/Verify: %+v %v", got, err)
	}
	if got.Signature == Sign(vectorKey, vectorID, vectorHost, "") {
		t.Fatal("webTransportUrl not covered by the signature")
	}
}

func TestTokenVerifyRejectsTampering(t *testing.T) {
	good, _ := Decode(Encode(vectorKey, vectorID, vectorHost, true))
	tests := []struct {
		name string
		mod  func(*Token)
		key  string
	}{
		{"wrong key", func(*Token) {}, "otherkey"},
		{"host changed", func(t *Token) { t.Host = "10.0.0.6:8080" }, vectorKey},
		{"id changed", func(t *Token) { t.TokenID = "65a1b2c3d4e5f60718293a4c" }, vectorKey},
		{"webtransport added", func(t *Token) { t.WebTransportURL = "https://x/" }, vectorKey},
		{"signature truncated", func(t *Token) { t.Signature = t.Signature[:86] }, vectorKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := good
			tc.mod(&tok)
			if tok.Verify(tc.key) {
				t.Fatal("Verify accepted a tampered token")
			}
		})
	}
}

func TestTokenJSONEscapingLikeJavaScript(t *testing.T) {
	tok := Token{TokenID: "a\"b\\c", Host: "<h>&\u2028\x01\n", Signature: "s"}
	want := `{"tokenId":"a\"b\\c","host":"<h>&` + "\u2028" + `\u0001\n","secure":false,"signature":"s"}`
	if got := string(tok.JSON()); got != want {
		t.Fatalf("JSON = %q, want %q", got, want)
	}
}

func TestTokenDecodeErrors(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name  string
		in    string
		want  error
		inMsg string
	}{
		{"empty", "", ErrMalformed, "JSON object"},
		{"not base64", "!!!", ErrMalformed, "base64"},
		{"too long", strings.Repeat("A", MaxLen+1), ErrTooLong, ""},
		{"not json", b64("hello"), ErrMalformed, "JSON object"},
		{"array", b64(`[1]`), ErrMalformed, "JSON object"},
		{"null", b64(`null`), ErrMalformed, "JSON object"},
		{"missing host", b64(`{"tokenId":"a","signature":"s"}`), ErrMalformed, "host missing"},
		{"null tokenId", b64(`{"tokenId":null,"host":"h","signature":"s"}`), ErrMalformed, "tokenId missing"},
		{"numeric tokenId", b64(`{"tokenId":1,"host":"h","signature":"s"}`), ErrMalformed, "tokenId must be a string"},
		{"string secure", b64(`{"tokenId":"a","host":"h","secure":"true","signature":"s"}`), ErrMalformed, "secure must be a boolean"},
		{"case-sensitive keys", b64(`{"TOKENID":"a","host":"h","signature":"s"}`), ErrMalformed, "tokenId missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(tc.in)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.inMsg) {
				t.Fatalf("Decode error = %v, want %v containing %q", err, tc.want, tc.inMsg)
			}
		})
	}
}

func TestTokenDecodeLenient(t *testing.T) {
	enc := Encode(vectorKey, vectorID, vectorHost, false)
	unpadded := strings.TrimRight(enc, "=")
	extra := base64.RawStdEncoding.EncodeToString([]byte(`{"tokenId":"a","host":"h","signature":"s","x":[1]}`))
	for _, in := range []string{unpadded, extra} {
		if _, err := Decode(in); err != nil {
			t.Fatalf("Decode(%q): %v", in, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(vectorKey, vectorID, vectorHost, true))
	f.Add(Seal(vectorKey, Token{TokenID: "x", Host: "[fe80::1]:8080", WebTransportURL: "https://h:1/"}))
	f.Add(base64.StdEncoding.EncodeToString([]byte(`{"tokenId":"a","host":"h","secure":1,"signature":null}`)))
	f.Add("e30")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Decode(s)
		if err != nil {
			return
		}
		_ = tok.Verify(vectorKey)
		// A decoded token re-encodes and decodes to itself (strings that are valid UTF-8).
		again, err := Decode(base64.StdEncoding.EncodeToString(tok.JSON()))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if again != tok {
			t.Fatalf("round trip: %+v != %+v", again, tok)
		}
	})
}
