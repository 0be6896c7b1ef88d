package ids

import (
	"sort"
	"testing"
)

func TestObjectIDSortsByCreation(t *testing.T) {
	var got []string
	for range 1000 {
		id := ObjectID()
		if !IsObjectID(id) {
			t.Fatalf("ObjectID() = %q, not 24 hex", id)
		}
		got = append(got, id)
	}
	if !sort.StringsAreSorted(got) {
		// The 3-byte counter may wrap once in 2^24 ids; 1000 consecutive ids wrap with
		// probability 1000/2^24, so a failure here is a real ordering bug.
		t.Fatalf("ids made in sequence are not sorted")
	}
}

func TestUUIDHex(t *testing.T) {
	u := UUIDHex()
	if len(u) != 32 || u[12] != '4' {
		t.Fatalf("UUIDHex() = %q", u)
	}
	if IsObjectID("zz" + RandomHex(11)) {
		t.Fatal("IsObjectID accepted non-hex")
	}
}
