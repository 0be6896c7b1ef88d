package token

import "testing"

// BenchmarkTokenEncode measures signing and encoding one join token, as POST
// /v1/rooms/{id}/tokens does.
func BenchmarkTokenEncode(b *testing.B) {
	const key = "Tj/WsW8KG/m0umk9UIJ7LF4uwhzM4E6cCyIMeAsxGmih1apkOPnBduFCejyHAl9Z1kbRl1hgiW/rMGZpNA2bDA=="
	b.ReportAllocs()
	for b.Loop() {
		if Encode(key, "6b023cf6743bf592736b5021", "127.0.0.1:8080", false) == "" {
			b.Fatal("empty token")
		}
	}
}

// BenchmarkTokenVerify measures decoding and checking a token, as the portal does on login.
func BenchmarkTokenVerify(b *testing.B) {
	const key = "Tj/WsW8KG/m0umk9UIJ7LF4uwhzM4E6cCyIMeAsxGmih1apkOPnBduFCejyHAl9Z1kbRl1hgiW/rMGZpNA2bDA=="
	s := Encode(key, "6b023cf6743bf592736b5021", "127.0.0.1:8080", false)
	b.ReportAllocs()
	for b.Loop() {
		t, err := Decode(s)
		if err != nil || !t.Verify(key) {
			b.Fatal("verification failed")
		}
	}
}
