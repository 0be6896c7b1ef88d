package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/secret"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/common/store/storetest"
)

func testBox(t testing.TB) *secret.Box {
	t.Helper()
	k, err := secret.Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := secret.NewBox(k.Derive(secret.PurposeServiceKey))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openStore(t testing.TB, dir string, box *secret.Box) *Store {
	t.Helper()
	s, err := Open(dir, box)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func TestEmbeddedContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openStore(t, t.TempDir(), testBox(t)) })
}

func BenchmarkEmbedded(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return openStore(b, b.TempDir(), testBox(b)) })
}

// rawAccess reads and writes service records directly in the bbolt file.
type rawAccess struct{ s *Store }

func (r rawAccess) RawService(t *testing.T, id string) []byte {
	var out []byte
	err := r.s.db.View(func(tx *bolt.Tx) error {
		out = append(out, tx.Bucket(bucketServices).Get([]byte(id))...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (r rawAccess) RawServiceKey(t *testing.T, id string) string {
	var rec serviceRecord
	if err := json.Unmarshal(r.RawService(t, id), &rec); err != nil {
		t.Fatal(err)
	}
	return rec.Key
}

func (r rawAccess) SetRawServiceKey(t *testing.T, id, key string) {
	var rec serviceRecord
	if err := json.Unmarshal(r.RawService(t, id), &rec); err != nil {
		t.Fatal(err)
	}
	rec.Key = key
	raw, _ := json.Marshal(rec)
	err := r.s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketServices).Put([]byte(id), raw) })
	if err != nil {
		t.Fatal(err)
	}
}

func TestEmbeddedKeysEncryptedAtRest(t *testing.T) {
	s := openStore(t, t.TempDir(), testBox(t))
	storetest.KeysEncryptedAtRest(t, s, rawAccess{s})
}

func TestEmbeddedDurableAcrossReopen(t *testing.T) {
	dir, box := t.TempDir(), testBox(t)
	ctx := t.Context()
	s, err := Open(dir, box)
	if err != nil {
		t.Fatal(err)
	}
	svc := store.Service{ID: ids.ObjectID(), Name: "durable", Key: "k1"}
	room := store.Room{ID: ids.ObjectID(), ServiceID: svc.ID, Config: []byte(`{"name":"r"}`), Path: "kept/path"}
	tok := store.Token{ID: ids.ObjectID(), RoomID: room.ID, Created: time.Now()}
	for _, err := range []error{s.CreateService(ctx, svc), s.CreateRoom(ctx, room), s.CreateToken(ctx, tok)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	key, _ := s.TokenKey(ctx, func() string { return "signing" })
	if _, err := s.AcquireLease(ctx, "room", "a", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir, box)
	got, err := s.GetService(ctx, svc.ID)
	if err != nil || got.Key != "k1" || len(got.Rooms) != 1 || got.Rooms[0] != room.ID {
		t.Fatalf("service after reopen = %+v, %v", got, err)
	}
	if _, err := s.GetRoom(ctx, svc.ID, room.ID); err != nil {
		t.Fatalf("room after reopen: %v", err)
	}
	if r, err := s.GetRoomByPath(ctx, svc.ID, room.Path); err != nil || r.ID != room.ID {
		t.Fatalf("room by path after reopen = %+v, %v", r, err)
	}
	if _, err := s.ConsumeToken(ctx, tok.ID); err != nil {
		t.Fatalf("token after reopen: %v", err)
	}
	if k, err := s.TokenKey(ctx, func() string { return "other" }); err != nil || k != key {
		t.Fatalf("token key after reopen = %q, %v; want %q", k, err, key)
	}
	if l, err := s.GetLease(ctx, "room"); err != nil || l.Owner != "a" {
		t.Fatalf("lease after reopen = %+v, %v", l, err)
	}
}

func TestEmbeddedWrongClusterKey(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, testBox(t))
	if err != nil {
		t.Fatal(err)
	}
	svc := store.Service{ID: ids.ObjectID(), Name: "x", Key: "k"}
	if err := s.CreateService(t.Context(), svc); err != nil {
		t.Fatal(err)
	}
	_ = s.Close(t.Context())
	s = openStore(t, dir, testBox(t))
	_, err = s.GetService(t.Context(), svc.ID)
	if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, secret.ErrDecrypt) {
		t.Fatalf("GetService with another cluster key = %v, want ErrUnavailable wrapping ErrDecrypt", err)
	}
}

func TestEmbeddedLockedAndClosed(t *testing.T) {
	dir, box := t.TempDir(), testBox(t)
	s := openStore(t, dir, box)
	start := time.Now()
	if _, err := Open(dir, box); !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, ErrLocked) ||
		!strings.Contains(err.Error(), "another process holds the data directory "+dir) {
		t.Fatalf("second Open of a locked dir = %v, want ErrUnavailable and ErrLocked naming the directory", err)
	}
	if d := time.Since(start); d > 3*lockTimeout {
		t.Fatalf("second Open took %v", d)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetService(t.Context(), ids.ObjectID()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("GetService on a closed store = %v, want ErrUnavailable", err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Ping on a closed store = %v, want ErrUnavailable", err)
	}
}

func TestEmbeddedOpenRequiresBox(t *testing.T) {
	if _, err := Open(t.TempDir(), nil); err == nil {
		t.Fatal("Open with a nil box succeeded")
	}
}

// TestEmbeddedRoomRecordFastPath: the record decoder's fast path reads what encodeRoom writes,
// with or without path and pool flag, and agrees with encoding/json.
func TestEmbeddedRoomRecordFastPath(t *testing.T) {
	rooms := []store.Room{
		{Config: []byte(`{}`)},
		{Config: []byte(`{"name":"a\"}b","x":{"y":[1,2]}}`), Path: "team/standup"},
		{Config: []byte(`{"name":"é\\u0000"}`), Pool: true},
		{Config: []byte(`{"path":"in the config","pool":false}`), Path: "a", Pool: true},
	}
	for _, r := range rooms {
		r.ID, r.ServiceID = ids.ObjectID(), ids.ObjectID()
		raw, err := encodeRoom(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := fastRoomRecord(raw); !ok {
			t.Errorf("%s: not read by the fast path", raw)
		}
		fast, err := decodeRoomRecord(raw)
		var slow roomRecord
		if err2 := json.Unmarshal(raw, &slow); err != nil || err2 != nil || fast.Service != slow.Service ||
			string(fast.Config) != string(slow.Config) || fast.Path != r.Path || fast.Pool != r.Pool || slow.Path != r.Path || slow.Pool != r.Pool {
			t.Fatalf("%s: fast %+v %v, slow %+v %v", raw, fast, err, slow, err2)
		}
	}
	if _, ok := fastRoomRecord([]byte(`{"service":"x","path":"a\"b","config":{}}`)); ok {
		t.Fatal("fast path read an escaped path")
	}
	if _, err := decodeRoomRecord([]byte(`{"service":"x","config":`)); err == nil {
		t.Fatal("truncated record accepted")
	}
}
