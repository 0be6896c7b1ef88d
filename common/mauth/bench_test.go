package mauth

import "testing"

// BenchmarkMAuthVerify measures what the management API does per signed request: parse the
// Authorization header and verify its HMAC-SHA256 signature.
func BenchmarkMAuthVerify(b *testing.B) {
	const key = "Tj/WsW8KG/m0umk9UIJ7LF4uwhzM4E6cCyIMeAsxGmih1apkOPnBduFCejyHAl9Z1kbRl1hgiW/rMGZpNA2bDA=="
	h := Header("6b023cf6743bf592736b5021", key, 1700000000000, "3f9a2c")
	b.ReportAllocs()
	for b.Loop() {
		p, err := Parse(h)
		if err != nil || !p.Verify(key) {
			b.Fatal("verification failed")
		}
	}
}
