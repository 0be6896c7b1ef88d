package agent

import "testing"

// TestAgentTransportIndexRefusesForeignID checks that a transport id held by one room cannot
// be bound by another room of the same agent (ids are visible to other participants).
func TestAgentTransportIndexRefusesForeignID(t *testing.T) {
	a := &Agent{index: map[string]*entry{}}
	roomA, roomB := transportIndex{a: a, e: &entry{}}, transportIndex{a: a, e: &entry{}}
	if !roomA.Bind("t1") || !roomA.Bind("t1") {
		t.Fatal("a room cannot bind (or re-bind) its own transport")
	}
	if roomB.Bind("t1") {
		t.Fatal("another room took over the transport id")
	}
	roomB.Unbind("t1")
	if a.index["t1"] != roomA.e {
		t.Fatal("another room's unbind removed the owner's entry")
	}
	roomA.Unbind("t1")
	if !roomB.Bind("t1") {
		t.Fatal("a released id cannot be reused")
	}
}
