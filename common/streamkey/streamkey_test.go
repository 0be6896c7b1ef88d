package streamkey

import (
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/common/ids"
)

func TestStreamKeyRoundTrip(t *testing.T) {
	id := ids.ObjectID()
	key, hash := New(id)
	if !Is(key) {
		t.Fatalf("Is(%q) = false", key)
	}
	gotID, secret, ok := Parse(key)
	if !ok || gotID != id {
		t.Fatalf("Parse(%q) = %q, ok %v; want id %q", key, gotID, ok, id)
	}
	if !Matches(hash, secret) {
		t.Fatal("the secret does not match its own hash")
	}
	if strings.Contains(hash, secret) || hash == secret {
		t.Fatal("the hash reveals the secret")
	}
	other, _ := New(id)
	_, otherSecret, _ := Parse(other)
	if Matches(hash, otherSecret) {
		t.Fatal("another key's secret matches")
	}
}

func TestStreamKeyParseRejects(t *testing.T) {
	id := ids.ObjectID()
	secret := ids.RandomHex(secretBytes)
	for _, s := range []string{"", "csk_", "eyJ0b2tlbiI6MX0=", "csk_" + id, "csk_" + id + "_",
		"csk_" + id + "_" + secret[:10], "csk_zz" + id[2:] + "_" + secret, "csk_" + id + "_" + secret + "0",
		"CSK_" + id + "_" + secret, "csk_" + id[:23] + "_" + secret} {
		if _, _, ok := Parse(s); ok {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}

func FuzzStreamKeyParse(f *testing.F) {
	key, _ := New(ids.ObjectID())
	f.Add(key)
	f.Add("csk_x_y")
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, ok := Parse(s)
		if ok && s != Prefix+id+"_"+secret {
			t.Fatalf("Parse(%q) = %q, %q: does not rebuild the input", s, id, secret)
		}
	})
}
