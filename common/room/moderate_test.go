package room

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRoomRoleModerate(t *testing.T) {
	r, err := ParseCreate([]byte(`{"name":"m","options":{"roles":[` +
		`{"role":"host","publish":{"audio":true,"video":true},"subscribe":{"audio":true,"video":true},"moderate":true},` +
		`{"role":"guest","publish":{"audio":true,"video":true},"subscribe":{"audio":true,"video":true}}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	host, _ := r.Role("host")
	guest, _ := r.Role("guest")
	if !host.Moderate || guest.Moderate {
		t.Fatalf("moderate: host %v, guest %v; want true, false", host.Moderate, guest.Moderate)
	}
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), `"moderate":true`); n != 1 {
		t.Fatalf("encoded room has %d moderate flags, want 1: %s", n, out)
	}
	def, _ := Default("d").Role("presenter")
	if def.Moderate {
		t.Fatal("default roles must not moderate")
	}
	_, err = ParseCreate([]byte(`{"name":"m","options":{"roles":[{"role":"host","moderate":"yes"}]}}`))
	if err == nil || !strings.Contains(err.Error(), "moderate") {
		t.Fatalf("non-boolean moderate: error %v, want one naming moderate", err)
	}
}
