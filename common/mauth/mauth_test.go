package mauth

import (
	"errors"
	"strings"
	"testing"
)

// Vectors from owt-protocol.md §2.4, re-derived with Python's hmac/hashlib/base64.
const (
	vectorKey      = "samplekey"
	vectorPlain    = "MDUyNDAyODNlZTg0OTNiYjkwNGM0NmU2YTNjMWVkYmFhOTlhMjI0OWI4NDMxYmNhMDc5NWQ0NDAyOWU2MzE5YQ=="
	vectorWithUser = "MWIyOWViYjA4MDM2ZTFlNzBkMGY0MDUwMWRjMGIyZWVjZDI3ZDUyZTE3MjEwZWYzOGNlMDZlMGY0MzY4MmVjYg=="
)

func TestMAuthSignatureVectors(t *testing.T) {
	tests := []struct {
		name, username, role, want string
	}{
		{"timestamp and cnonce", "", "", vectorPlain},
		{"with username and role", "YWxpY2U=", "presenter", vectorWithUser},
		{"username without role is not signed", "YWxpY2U=", "", vectorPlain},
		{"role without username is not signed", "", "presenter", vectorPlain},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Signature(vectorKey, "1700000000000", "12345", tc.username, tc.role)
			if got != tc.want {
				t.Fatalf("Signature = %s, want %s", got, tc.want)
			}
			if len(got) != 88 || !strings.HasSuffix(got, "==") {
				t.Fatalf("signature shape %q", got)
			}
		})
	}
}

func TestMAuthParse(t *testing.T) {
	canonical := "MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA256," +
		"mauth_serviceid=5f0000000000000000000001,mauth_cnonce=12345,mauth_timestamp=1700000000000," +
		"mauth_signature=" + vectorPlain
	tests := []struct {
		name   string
		header string
		want   Params
	}{
		{"canonical", canonical, Params{
			Realm: Realm, SignatureMethod: "HMAC_SHA256", ServiceID: "5f0000000000000000000001",
			Cnonce: "12345", Timestamp: "1700000000000", Signature: vectorPlain,
		}},
		{"padding restored and username", "MAuth realm=x,mauth_serviceid=s,mauth_username=YWxpY2U=," +
			"mauth_role=presenter,mauth_signature=abc==", Params{
			Realm: "x", ServiceID: "s", Username: "YWxpY2U=", Role: "presenter", Signature: "abc==",
		}},
		{"inner equals sign dropped", "MAuth realm=x,mauth_serviceid=a=b,mauth_signature=s",
			Params{Realm: "x", ServiceID: "ab", Signature: "s"}},
		{"double inner equals becomes one", "MAuth realm=x,mauth_serviceid=a==b,mauth_signature=s",
			Params{Realm: "x", ServiceID: "a=b", Signature: "s"}},
		{"quoted values keep quotes", `MAuth realm="x",mauth_serviceid="s",mauth_signature="sig"`,
			Params{Realm: `"x"`, ServiceID: `"s"`, Signature: `"sig"`}},
		{"leading space shifts the cut", "MAuth realm=x, mauth_serviceid=bad,mauth_serviceid=good,mauth_signature=s",
			Params{Realm: "x", ServiceID: "good", Signature: "s"}},
		{"any six-character prefix", "MAuth realm=x,XXXXXXserviceid=s,abcdefsignature=z",
			Params{Realm: "x", ServiceID: "s", Signature: "z"}},
		{"later duplicate wins", "MAuth realm=x,mauth_serviceid=a,mauth_serviceid=b,mauth_signature=s",
			Params{Realm: "x", ServiceID: "b", Signature: "s"}},
		{"unknown keys ignored", "MAuth realm=x,mauth_version=3.1,mauth_serviceid=a,mauth_signature=s",
			Params{Realm: "x", ServiceID: "a", Signature: "s"}},
		{"key without equals has empty value", "MAuth realm=x,mauth_role,mauth_serviceid=a,mauth_signature=s",
			Params{Realm: "x", ServiceID: "a", Signature: "s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.header)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got != tc.want {
				t.Fatalf("Parse = %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestMAuthParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   error
	}{
		{"empty", "", ErrNoHeader},
		{"no serviceid", "MAuth realm=x,mauth_signature=s", ErrMalformed},
		{"no signature", "MAuth realm=x,mauth_serviceid=s", ErrMalformed},
		{"space makes serviceid unknown", "MAuth realm=x, mauth_serviceid=s,mauth_signature=s", ErrMalformed},
		{"short key", "MAuth realm=x,ab=c,mauth_serviceid=s,mauth_signature=s", ErrMalformed},
		{"trailing comma", "MAuth realm=x,mauth_serviceid=s,mauth_signature=s,", ErrMalformed},
		{"too long", "MAuth realm=x,mauth_serviceid=s,mauth_signature=" + strings.Repeat("a", MaxHeaderLen), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.header); !errors.Is(err, tc.want) {
				t.Fatalf("Parse error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestMAuthVerify(t *testing.T) {
	base := Params{SignatureMethod: MethodHMACSHA256, ServiceID: "s", Timestamp: "1700000000000", Cnonce: "12345"}
	withUser := base
	withUser.Username, withUser.Role, withUser.Signature = "YWxpY2U=", "presenter", vectorWithUser
	plain := base
	plain.Signature = vectorPlain
	tests := []struct {
		name string
		p    Params
		key  string
		want bool
	}{
		{"plain ok", plain, vectorKey, true},
		{"with user ok", withUser, vectorKey, true},
		{"wrong key", plain, "otherkey", false},
		{"wrong method", func() Params { p := plain; p.SignatureMethod = "HMAC_SHA1"; return p }(), vectorKey, false},
		{"method case matters", func() Params { p := plain; p.SignatureMethod = "hmac_sha256"; return p }(), vectorKey, false},
		{"tampered cnonce", func() Params { p := plain; p.Cnonce = "12346"; return p }(), vectorKey, false},
		{"role dropped", func() Params { p := withUser; p.Role = ""; return p }(), vectorKey, false},
		{"signature without padding", func() Params { p := plain; p.Signature = strings.TrimRight(vectorPlain, "="); return p }(), vectorKey, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Verify(tc.key); got != tc.want {
				t.Fatalf("Verify = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMAuthParseVerifyWithUserHeader(t *testing.T) {
	h := "MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA256,mauth_username=YWxpY2U=," +
		"mauth_role=presenter,mauth_serviceid=5f0000000000000000000001,mauth_cnonce=12345," +
		"mauth_timestamp=1700000000000,mauth_signature=" + vectorWithUser
	p, err := Parse(h)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Verify(vectorKey) {
		t.Fatal("Verify failed")
	}
	if u, ok := p.User(); !ok || u != "alice" {
		t.Fatalf("User = %q, %v", u, ok)
	}
}

func TestMAuthUser(t *testing.T) {
	tests := []struct {
		name, username, role, want string
		ok                         bool
	}{
		{"padded", "YWxpY2U=", "r", "alice", true},
		{"unpadded", "YWxpY2U", "r", "alice", true},
		{"url alphabet", "-_8", "r", "\xfb\xff", true},
		{"utf8", "w6lsw6h2ZQ==", "r", "élève", true},
		{"junk skipped", "YW*xp Y2U=", "r", "alice", true},
		{"no role", "YWxpY2U=", "", "", false},
		{"no username", "", "r", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Params{Username: tc.username, Role: tc.role}.User()
			if got != tc.want || ok != tc.ok {
				t.Fatalf("User = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestMAuthHeaderCanonical(t *testing.T) {
	got := Header("5f0000000000000000000001", vectorKey, 1700000000000, "12345")
	want := "MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA256," +
		"mauth_serviceid=5f0000000000000000000001,mauth_cnonce=12345,mauth_timestamp=1700000000000," +
		"mauth_signature=" + vectorPlain
	if got != want {
		t.Fatalf("Header =\n%s\nwant\n%s", got, want)
	}
	p, err := Parse(got)
	if err != nil || !p.Verify(vectorKey) {
		t.Fatalf("round trip: %+v, %v", p, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA256,mauth_serviceid=s,mauth_cnonce=1,mauth_timestamp=2,mauth_signature="+vectorPlain, "s", "k", int64(2), "1")
	f.Add("MAuth realm=x, mauth_serviceid=a==b,mauth_username=YWxpY2U=,mauth_role=p,mauth_signature=\"z\"", "svc", "", int64(-1), "")
	f.Add(",,,=,==,", "a,b", "key=", int64(0), "c=d")
	f.Fuzz(func(t *testing.T, header, serviceID, key string, ts int64, cnonce string) {
		if p, err := Parse(header); err == nil {
			if p.ServiceID == "" || p.Signature == "" {
				t.Fatalf("Parse accepted %q without serviceid or signature", header)
			}
			_ = p.Verify(key)
			_, _ = p.User()
		}
		h := Header(serviceID, key, ts, cnonce)
		p, err := Parse(h)
		if !roundTrips(serviceID) || !roundTrips(cnonce) || len(h) > MaxHeaderLen {
			return
		}
		if err != nil {
			t.Fatalf("Parse(Header(...)) = %v for %q", err, h)
		}
		if p.ServiceID != serviceID || p.Cnonce != cnonce || p.Realm != Realm || !p.Verify(key) {
			t.Fatalf("round trip lost data: %+v from %q", p, h)
		}
	})
}

// roundTrips reports whether a value survives OWT's header syntax unchanged.
func roundTrips(s string) bool { return s != "" && !strings.ContainsAny(s, ",=") }
