package storetest

import (
	"errors"
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/common/store"
)

// RawAccess reads and writes the stored form of service records, bypassing the store's
// encryption. Each implementation's test provides one for KeysEncryptedAtRest.
type RawAccess interface {
	// RawService returns the whole stored record of the service as bytes.
	RawService(t *testing.T, id string) []byte
	// RawServiceKey returns the stored (encrypted) key field of the service.
	RawServiceKey(t *testing.T, id string) string
	// SetRawServiceKey overwrites the stored key field of the service.
	SetRawServiceKey(t *testing.T, id, key string)
}

// KeysEncryptedAtRest checks that service keys never reach the database in plaintext, and
// that an encrypted key is bound to its service: moving it to another record must make
// reading that record fail rather than hand out the other service's key.
func KeysEncryptedAtRest(t *testing.T, s store.Store, raw RawAccess) {
	a, b := mustCreateService(t, s), mustCreateService(t, s)
	for _, svc := range []store.Service{a, b} {
		rec := raw.RawService(t, svc.ID)
		if len(rec) == 0 {
			t.Fatalf("raw record of %s is empty", svc.ID)
		}
		if strings.Contains(string(rec), svc.Key) {
			t.Fatalf("plaintext key of %s found in the stored record", svc.ID)
		}
		if !strings.Contains(string(rec), svc.Name) {
			t.Fatalf("raw accessor does not read the service record (name missing)")
		}
	}
	keyA, keyB := raw.RawServiceKey(t, a.ID), raw.RawServiceKey(t, b.ID)
	if keyA == "" || keyA == keyB {
		t.Fatalf("stored keys look wrong: %q, %q", keyA, keyB)
	}
	raw.SetRawServiceKey(t, b.ID, keyA)
	got, err := s.GetService(ctx(t), b.ID)
	if err == nil {
		t.Fatalf("swapped ciphertext accepted: service b now has key %q", got.Key)
	}
	if errors.Is(err, store.ErrNotFound) {
		t.Fatalf("swapped ciphertext reported as not found: %v", err)
	}
	raw.SetRawServiceKey(t, b.ID, keyB)
	got, err = s.GetService(ctx(t), b.ID)
	wantErr(t, "GetService(restored)", err, nil)
	if got.Key != b.Key {
		t.Fatalf("restored key = %q, want %q", got.Key, b.Key)
	}
}
