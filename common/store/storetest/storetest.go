// Package storetest is the contract suite every store.Store implementation must pass, plus
// shared benchmarks and an encryption-at-rest check that needs raw access to the database.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
)

// Opener returns a fresh, empty store for one test and arranges with t.Cleanup for it to be
// closed (and its database removed).
type Opener func(t *testing.T) store.Store

// opTimeout bounds every store call in the suite, so a hung implementation fails instead of
// stalling the test binary.
const opTimeout = 10 * time.Second

// Run runs the contract suite. Every subtest opens its own store.
func Run(t *testing.T, open Opener) {
	groups := []struct {
		name  string
		tests []namedTest
	}{
		{"Services", serviceTests},
		{"Rooms", roomTests},
		{"RoomPaths", pathTests},
		{"RoomPool", poolTests},
		{"Tokens", tokenTests},
		{"TokenKey", keyTests},
		{"Leases", leaseTests},
		{"Nonces", nonceTests},
		{"Chat", chatTests},
		{"StreamKeys", streamKeyTests},
		{"Misc", miscTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
			}
		})
	}
}

type namedTest struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

var miscTests = []namedTest{
	{"Ping", testPing},
	{"CanceledContext", testCanceledContext},
}

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testCanceledContext(t *testing.T, s store.Store) {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.GetService(c, ids.ObjectID())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("GetService with canceled ctx = %v, want context.Canceled", err)
	}
	err = s.CreateService(c, newService())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateService with canceled ctx = %v, want context.Canceled", err)
	}
}

// ctx returns a context bounded by opTimeout and canceled when t ends.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(t.Context(), opTimeout)
	t.Cleanup(cancel)
	return c
}

func newService() store.Service {
	id := ids.ObjectID()
	return store.Service{ID: id, Name: "svc-" + id, Key: "key-" + ids.RandomHex(16)}
}

// mustCreateService creates a fresh service and fails t on error.
func mustCreateService(t testing.TB, s store.Store) store.Service {
	t.Helper()
	svc := newService()
	if err := s.CreateService(ctx(t), svc); err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	return svc
}

// mustCreateRoom creates a room with a small config under serviceID and fails t on error.
func mustCreateRoom(t testing.TB, s store.Store, serviceID string) store.Room {
	t.Helper()
	r := store.Room{ID: ids.ObjectID(), ServiceID: serviceID, Config: []byte(`{"name":"r"}`)}
	if err := s.CreateRoom(ctx(t), r); err != nil {
		t.Fatalf("CreateRoom: %v", err)
	}
	return r
}

// wantErr fails t unless err matches target (nil target: err must be nil).
func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if target == nil && err != nil {
		t.Fatalf("%s: unexpected error %v", what, err)
	}
	if target != nil && !errors.Is(err, target) {
		t.Fatalf("%s: error = %v, want %v", what, err, target)
	}
}
