package mongo

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	mdb "go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/secret"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/common/store/storetest"
	"github.com/conclave-rtc/conclave/common/testutil"
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

// openDB opens a store on database db of the test server; the caller drops it.
func openDB(t testing.TB, uri, db string, box *secret.Box) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, uri, db, box)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// openFresh opens a store on a new database that is dropped when t ends.
func openFresh(t testing.TB) *Store {
	t.Helper()
	s := openDB(t, testutil.MongoURI(t), testutil.UniqueName("conclave_test_"), testBox(t))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.db.Drop(ctx); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return s
}

func TestMongoContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
}

func BenchmarkMongo(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return openFresh(b) })
}

// rawAccess reads and writes service documents directly with the driver.
type rawAccess struct{ s *Store }

func (r rawAccess) RawService(t *testing.T, id string) []byte {
	raw, err := r.s.services.FindOne(t.Context(), bson.D{{Key: "_id", Value: id}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func (r rawAccess) RawServiceKey(t *testing.T, id string) string {
	raw := bson.Raw(r.RawService(t, id))
	if enc, ok := raw.Lookup("encrypted").BooleanOK(); !ok || !enc {
		t.Fatalf("service %s not marked encrypted: %s", id, raw)
	}
	return raw.Lookup("key").StringValue()
}

func (r rawAccess) SetRawServiceKey(t *testing.T, id, key string) {
	_, err := r.s.services.UpdateOne(t.Context(), bson.D{{Key: "_id", Value: id}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "key", Value: key}}}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMongoKeysEncryptedAtRest(t *testing.T) {
	s := openFresh(t)
	storetest.KeysEncryptedAtRest(t, s, rawAccess{s})
}

// TestMongoConfigSubdocument checks the room config is stored as a real BSON document with
// native number types, so it can be queried and read by other MongoDB tools.
func TestMongoConfigSubdocument(t *testing.T) {
	s := openFresh(t)
	ctx := t.Context()
	svc := store.Service{ID: ids.ObjectID(), Name: "cfg", Key: "k"}
	room := store.Room{ID: ids.ObjectID(), ServiceID: svc.ID,
		Config: []byte(`{"name":"r","inputLimit":-1,"ratio":0.8,"big":9007199254740993,"views":[{"label":"common"}]}`)}
	if err := s.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	raw, err := s.rooms.FindOne(ctx, bson.D{{Key: "_id", Value: room.ID}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	if got := raw.Lookup("service").StringValue(); got != svc.ID {
		t.Fatalf("service field = %q", got)
	}
	cfg, ok := raw.Lookup("config").DocumentOK()
	if !ok {
		t.Fatalf("config is not a subdocument: %s", raw)
	}
	checks := []struct {
		key  string
		want any
	}{
		{"inputLimit", int32(-1)}, {"ratio", 0.8}, {"big", int64(9007199254740993)}, {"name", "r"},
	}
	for _, c := range checks {
		var got any
		if err := cfg.Lookup(c.key).Unmarshal(&got); err != nil || got != c.want {
			t.Errorf("config.%s = %#v (%v), want %#v", c.key, got, err, c.want)
		}
	}
	n, err := s.rooms.CountDocuments(ctx, bson.D{{Key: "config.views.label", Value: "common"}})
	if err != nil || n != 1 {
		t.Fatalf("query on config.views.label found %d (%v), want 1", n, err)
	}
	if got := raw.Lookup("json").StringValue(); got != string(room.Config) {
		t.Fatalf("json field %q, want the config as given", got)
	}
}

// TestMongoRoomsWithoutJSON reads rooms stored before the json field existed: from the BSON
// config, alone and in lists mixed with newer rooms.
func TestMongoRoomsWithoutJSON(t *testing.T) {
	s := openFresh(t)
	ctx := t.Context()
	svc := store.Service{ID: ids.ObjectID(), Name: "legacy", Key: "k"}
	if err := s.CreateService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	legacy := store.Room{ID: "000000000000000000000001", ServiceID: svc.ID, Config: []byte(`{"name":"old","inputLimit":-1}`)}
	cfg, err := configToBSON(legacy.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.rooms.InsertOne(ctx, bson.D{{Key: "_id", Value: legacy.ID}, {Key: "service", Value: svc.ID}, {Key: "config", Value: cfg}}); err != nil {
		t.Fatal(err)
	}
	fresh := store.Room{ID: ids.ObjectID(), ServiceID: svc.ID, Config: []byte(`{"name":"new"}`)}
	if err := s.CreateRoom(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRoom(ctx, svc.ID, legacy.ID)
	if err != nil || string(got.Config) != string(legacy.Config) {
		t.Fatalf("legacy room: %s, %v", got.Config, err)
	}
	list, err := s.ListRooms(ctx, svc.ID, 0, 0)
	if err != nil || len(list) != 2 || string(list[0].Config) != string(legacy.Config) || string(list[1].Config) != string(fresh.Config) {
		t.Fatalf("list: %+v, %v", list, err)
	}
	// An update writes the json field, so the room is served without conversion from then on.
	legacy.Config = []byte(`{"name":"old", "inputLimit":3}`)
	if err := s.UpdateRoom(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	raw, err := s.rooms.FindOne(ctx, bson.D{{Key: "_id", Value: legacy.ID}}).Raw()
	if err != nil || raw.Lookup("json").StringValue() != `{"name":"old","inputLimit":3}` {
		t.Fatalf("after update: %s, %v", raw, err)
	}
}

func TestMongoRejectsDollarKeys(t *testing.T) {
	s := openFresh(t)
	svc := store.Service{ID: ids.ObjectID(), Name: "d", Key: "k"}
	if err := s.CreateService(t.Context(), svc); err != nil {
		t.Fatal(err)
	}
	r := store.Room{ID: ids.ObjectID(), ServiceID: svc.ID, Config: []byte(`{"a":{"$numberLong":"5"}}`)}
	if err := s.CreateRoom(t.Context(), r); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("CreateRoom with a $ key = %v, want ErrInvalidConfig", err)
	}
}

func TestMongoReopen(t *testing.T) {
	uri, db, box := testutil.MongoURI(t), testutil.UniqueName("conclave_test_"), testBox(t)
	s1 := openDB(t, uri, db, box)
	t.Cleanup(func() { _ = s1.db.Drop(context.Background()) })
	svc := store.Service{ID: ids.ObjectID(), Name: "reopen", Key: "k1"}
	if err := s1.CreateService(t.Context(), svc); err != nil {
		t.Fatal(err)
	}
	// A second node: same database, same cluster key; index creation must be idempotent.
	s2 := openDB(t, uri, db, box)
	got, err := s2.GetService(t.Context(), svc.ID)
	if err != nil || got.Key != "k1" {
		t.Fatalf("GetService from a second store = %+v, %v", got, err)
	}
	dup := store.Service{ID: ids.ObjectID(), Name: "reopen", Key: "k2"}
	if err := s2.CreateService(t.Context(), dup); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("duplicate name through a second store = %v, want ErrDuplicate", err)
	}
	// A node with another cluster key cannot read the keys.
	s3 := openDB(t, uri, db, testBox(t))
	if _, err := s3.GetService(t.Context(), svc.ID); !errors.Is(err, store.ErrUnavailable) ||
		!errors.Is(err, secret.ErrDecrypt) {
		t.Fatalf("GetService with another cluster key = %v, want ErrUnavailable wrapping ErrDecrypt", err)
	}
}

// deadURI points at a loopback port where nothing listens.
const deadURI = "mongodb://127.0.0.1:1/"

func TestMongoOpenUnavailable(t *testing.T) {
	start := time.Now()
	_, err := Open(t.Context(), deadURI, "x", testBox(t))
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open(dead server) = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Open(dead server) took %v, want about %v", d, serverSelectionTimeout)
	}
}

// TestMongoOutageFailsFast checks that every operation on an unreachable server fails with
// ErrUnavailable in about the server-selection timeout, not the driver's default 30 s.
func TestMongoOutageFailsFast(t *testing.T) {
	opts := options.Client().ApplyURI(deadURI).SetServerSelectionTimeout(serverSelectionTimeout).
		SetConnectTimeout(connectTimeout)
	client, err := mdb.Connect(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	s := newStore(client, "x", testBox(t))
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	ctx := context.Background() // no deadline: the store's own bounds must apply
	ops := map[string]func() error{
		"Ping":         func() error { return s.Ping(ctx) },
		"GetService":   func() error { _, err := s.GetService(ctx, "a"); return err },
		"CreateRoom":   func() error { return s.CreateRoom(ctx, store.Room{ID: "r", ServiceID: "a", Config: []byte(`{}`)}) },
		"ConsumeToken": func() error { _, err := s.ConsumeToken(ctx, "t"); return err },
		"AcquireLease": func() error { _, err := s.AcquireLease(ctx, "l", "o", time.Second); return err },
		"TokenKey":     func() error { _, err := s.TokenKey(ctx, func() string { return "k" }); return err },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			if err := op(); !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("%s = %v, want ErrUnavailable", name, err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("%s took %v", name, d)
			}
		})
	}
}
