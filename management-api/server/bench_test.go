package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/secret"
	"github.com/conclave-rtc/conclave/common/store"
	storemongo "github.com/conclave-rtc/conclave/common/store/mongo"
	"github.com/conclave-rtc/conclave/common/testutil"
)

// BenchmarkSignedGetRoom measures a signed GET /v1/rooms/{id} through the full handler over
// the embedded store (service and room caches warm, as in steady state).
func BenchmarkSignedGetRoom(b *testing.B) {
	benchGetRoom(b, newEnv(b, nil))
}

// BenchmarkSignedGetRoomMongo is BenchmarkSignedGetRoom on the MongoDB store (a
// MongoDB-wire server from CONCLAVE_TEST_MONGO_URI), with the room cache on as in production.
func BenchmarkSignedGetRoomMongo(b *testing.B) {
	benchGetRoom(b, newEnvWithStore(b, openMongo(b), nil))
}

// BenchmarkSignedPostTokenMongo is BenchmarkSignedPostToken on the MongoDB store.
func BenchmarkSignedPostTokenMongo(b *testing.B) {
	benchPostToken(b, newEnvWithStore(b, openMongo(b), nil))
}

func openMongo(b testing.TB) store.Store {
	uri := testutil.MongoURI(b)
	k, err := secret.Generate()
	if err != nil {
		b.Fatal(err)
	}
	box, err := secret.NewBox(k.Derive(secret.PurposeServiceKey))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	db := testutil.UniqueName("conclave_bench_")
	st, err := storemongo.Open(ctx, uri, db, box)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close(ctx) })
	return st
}

func benchGetRoom(b *testing.B, e *env) {
	roomID := e.createRoom(e.svc, "bench")
	path := "/v1/rooms/" + roomID
	b.ReportAllocs()
	for b.Loop() {
		if rec := e.as(e.svc, "GET", path, ""); rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkSignedPostToken measures token creation: MAuth, room lookup, portal scheduling
// (fake), token record insert into the embedded store and signing.
func BenchmarkSignedPostToken(b *testing.B) {
	benchPostToken(b, newEnv(b, nil))
}

func benchPostToken(b *testing.B, e *env) {
	e.sched.set("portal", cluster.Worker{ID: "portal-1@h", Host: "127.0.0.1:8080"})
	roomID := e.createRoom(e.svc, "bench")
	path := "/v1/rooms/" + roomID + "/tokens"
	body := `{"user":"u","role":"presenter"}`
	b.ReportAllocs()
	for b.Loop() {
		if rec := e.as(e.svc, "POST", path, body); rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkListRooms measures signed room lists of a service with 1,000 rooms: all of them
// (OWT: no paging parameters → every room), a page of 100, and one room.
func BenchmarkListRooms(b *testing.B) { benchListRooms(b, newEnv(b, nil)) }

// BenchmarkListRoomsMongo is BenchmarkListRooms on the MongoDB store.
func BenchmarkListRoomsMongo(b *testing.B) { benchListRooms(b, newEnvWithStore(b, openMongo(b), nil)) }

func benchListRooms(b *testing.B, e *env) {
	var last string
	for i := range 1000 {
		last = e.createRoom(e.svc, "bench-"+strconv.Itoa(i))
	}
	for _, path := range []string{"/v1/rooms", "/v1/rooms?page=3&per_page=100", "/v1/rooms/" + last} {
		b.Run(strings.NewReplacer("/", "_", "?", "_").Replace(path), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if rec := e.as(e.svc, "GET", path, ""); rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
