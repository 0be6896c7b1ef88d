package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
)

var pathTests = []namedTest{
	{"CreateGet", testPathCreateGet},
	{"Update", testPathUpdate},
	{"DeleteFrees", testPathDeleteFrees},
	{"Listed", testPathListed},
}

var poolTests = []namedTest{
	{"ClaimRelease", testPoolClaimRelease},
	{"FlagUpdates", testPoolFlagUpdates},
	{"DeletedRoom", testPoolDeletedRoom},
	{"ConcurrentSamePath", testPoolConcurrentSamePath},
	{"ConcurrentDistinctPaths", testPoolConcurrentDistinctPaths},
	{"ConcurrentMixed", testPoolConcurrentMixed},
}

// claimers is the number of goroutines of each concurrent claim test.
const claimers = 8

// newRoom returns a room of serviceID with a small config, path and pool flag, not stored.
func newRoom(serviceID, path string, pool bool) store.Room {
	return store.Room{ID: ids.ObjectID(), ServiceID: serviceID, Config: []byte(`{"name":"r"}`), Path: path, Pool: pool}
}

// mustCreate stores r and fails t on error.
func mustCreate(t testing.TB, s store.Store, r store.Room) store.Room {
	t.Helper()
	if err := s.CreateRoom(ctx(t), r); err != nil {
		t.Fatalf("CreateRoom(path %q, pool %v): %v", r.Path, r.Pool, err)
	}
	return r
}

// mustCreatePool stores n claimable rooms of serviceID and returns them in id order.
func mustCreatePool(t testing.TB, s store.Store, serviceID string, n int) []store.Room {
	t.Helper()
	rooms := make([]store.Room, n)
	for i := range rooms {
		rooms[i] = mustCreate(t, s, newRoom(serviceID, "", true))
	}
	slices.SortFunc(rooms, byID)
	return rooms
}

func byID(a, b store.Room) int { return cmp.Compare(a.ID, b.ID) }

// wantPath fails t unless the service's room with path is want (nil: no room has path).
func wantPath(t testing.TB, s store.Store, serviceID, path string, want *store.Room) {
	t.Helper()
	got, err := s.GetRoomByPath(ctx(t), serviceID, path)
	if want == nil {
		wantErr(t, fmt.Sprintf("GetRoomByPath(%q)", path), err, store.ErrNotFound)
		return
	}
	wantErr(t, fmt.Sprintf("GetRoomByPath(%q)", path), err, nil)
	assertRoom(t, got, *want)
}

// mustClaim claims path and fails t on error.
func mustClaim(t testing.TB, s store.Store, serviceID, path string) store.Room {
	t.Helper()
	r, err := s.ClaimRoom(ctx(t), serviceID, path)
	wantErr(t, fmt.Sprintf("ClaimRoom(%q)", path), err, nil)
	if r.Path != path || r.ServiceID != serviceID || !r.Pool {
		t.Fatalf("ClaimRoom(%q) = %s/%s path %q pool %v", path, r.ServiceID, r.ID, r.Path, r.Pool)
	}
	return r
}

// wantPoolEmpty fails t unless a claim of a fresh path finds no claimable room.
func wantPoolEmpty(t testing.TB, s store.Store, serviceID string) {
	t.Helper()
	_, err := s.ClaimRoom(ctx(t), serviceID, "nothing-left-"+ids.RandomHex(4))
	wantErr(t, "ClaimRoom(empty pool)", err, store.ErrNotFound)
}

func testPathCreateGet(t *testing.T, s store.Store) {
	a, b := mustCreateService(t, s), mustCreateService(t, s)
	ra := mustCreate(t, s, newRoom(a.ID, "team/standup", false))
	wantPath(t, s, a.ID, "team/standup", &ra)
	got, err := s.GetRoom(ctx(t), a.ID, ra.ID)
	wantErr(t, "GetRoom", err, nil)
	assertRoom(t, got, ra)
	got, err = s.GetRoomByID(ctx(t), ra.ID)
	wantErr(t, "GetRoomByID", err, nil)
	assertRoom(t, got, ra)

	// Paths are per service.
	wantPath(t, s, b.ID, "team/standup", nil)
	rb := mustCreate(t, s, newRoom(b.ID, "team/standup", false))
	wantPath(t, s, b.ID, "team/standup", &rb)
	wantPath(t, s, a.ID, "team/standup", &ra)

	dup := newRoom(a.ID, "team/standup", true)
	wantErr(t, "CreateRoom(taken path)", s.CreateRoom(ctx(t), dup), store.ErrPathTaken)
	_, err = s.GetRoomByID(ctx(t), dup.ID)
	wantErr(t, "GetRoomByID(refused room)", err, store.ErrNotFound)
	wantPoolEmpty(t, s, a.ID) // the refused pool room did not join the pool

	wantPath(t, s, a.ID, "team", nil)
	wantPath(t, s, a.ID, "", nil)
	wantPath(t, s, a.ID, "Team/Standup", nil) // paths are compared exactly
}

func testPathUpdate(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	r1 := mustCreate(t, s, newRoom(svc.ID, "a", false))
	r2 := mustCreate(t, s, newRoom(svc.ID, "", false))

	clash := r2
	clash.Path, clash.Config = "a", []byte(`{"name":"changed"}`)
	wantErr(t, "UpdateRoom(taken path)", s.UpdateRoom(ctx(t), clash), store.ErrPathTaken)
	got, err := s.GetRoom(ctx(t), svc.ID, r2.ID)
	wantErr(t, "GetRoom", err, nil)
	assertRoom(t, got, r2) // unchanged, config included

	r1.Path = "b" // moving a path frees the old one
	wantErr(t, "UpdateRoom(new path)", s.UpdateRoom(ctx(t), r1), nil)
	wantPath(t, s, svc.ID, "a", nil)
	wantPath(t, s, svc.ID, "b", &r1)
	r2.Path = "a"
	wantErr(t, "UpdateRoom(freed path)", s.UpdateRoom(ctx(t), r2), nil)
	wantPath(t, s, svc.ID, "a", &r2)

	r1.Config = []byte(`{"name":"same path"}`) // keeping its path is no conflict
	wantErr(t, "UpdateRoom(same path)", s.UpdateRoom(ctx(t), r1), nil)
	wantPath(t, s, svc.ID, "b", &r1)

	r1.Path = ""
	wantErr(t, "UpdateRoom(no path)", s.UpdateRoom(ctx(t), r1), nil)
	wantPath(t, s, svc.ID, "b", nil)
	got, err = s.GetRoom(ctx(t), svc.ID, r1.ID)
	wantErr(t, "GetRoom", err, nil)
	assertRoom(t, got, r1)
}

func testPathDeleteFrees(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	r := mustCreate(t, s, newRoom(svc.ID, "x", false))
	wantErr(t, "DeleteRoom", s.DeleteRoom(ctx(t), svc.ID, r.ID), nil)
	wantPath(t, s, svc.ID, "x", nil)
	again := mustCreate(t, s, newRoom(svc.ID, "x", false))
	wantPath(t, s, svc.ID, "x", &again)

	gone := mustCreateService(t, s)
	mustCreate(t, s, newRoom(gone.ID, "y", false))
	mustCreate(t, s, newRoom(gone.ID, "", true))
	wantErr(t, "DeleteService", s.DeleteService(ctx(t), gone.ID), nil)
	wantPath(t, s, gone.ID, "y", nil)
	_, err := s.ClaimRoom(ctx(t), gone.ID, "z")
	wantErr(t, "ClaimRoom(deleted service)", err, store.ErrNotFound)
}

func testPathListed(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	want := []store.Room{
		mustCreate(t, s, newRoom(svc.ID, "with/path", false)),
		mustCreate(t, s, newRoom(svc.ID, "", true)),
		mustCreate(t, s, newRoom(svc.ID, "claimed", true)),
		mustCreate(t, s, newRoom(svc.ID, "", false)),
	}
	slices.SortFunc(want, byID)
	list, err := s.ListRooms(ctx(t), svc.ID, 0, 0)
	wantErr(t, "ListRooms", err, nil)
	if len(list) != len(want) {
		t.Fatalf("ListRooms returned %d rooms, want %d", len(list), len(want))
	}
	for i := range list {
		assertRoom(t, list[i], want[i])
	}
	if v, ok := s.(store.RoomVisitor); ok {
		var seen []store.Room
		err := v.VisitRooms(ctx(t), svc.ID, 0, 0, func(r store.Room) error {
			r.Config = append([]byte(nil), r.Config...) // valid only during the call
			seen = append(seen, r)
			return nil
		})
		wantErr(t, "VisitRooms", err, nil)
		if len(seen) != len(want) {
			t.Fatalf("VisitRooms saw %d rooms, want %d", len(seen), len(want))
		}
		for i := range seen {
			assertRoom(t, seen[i], want[i])
		}
	}
}

func testPoolClaimRelease(t *testing.T, s store.Store) {
	svc, other := mustCreateService(t, s), mustCreateService(t, s)
	plain := mustCreate(t, s, newRoom(svc.ID, "", false))
	pool := mustCreatePool(t, s, svc.ID, 2)
	foreign := mustCreate(t, s, newRoom(other.ID, "", true))

	_, err := s.ClaimRoom(ctx(t), svc.ID, "")
	wantErr(t, `ClaimRoom("")`, err, store.ErrEmptyPath)

	a := mustClaim(t, s, svc.ID, "a")
	if a.ID != pool[0].ID && a.ID != pool[1].ID {
		t.Fatalf("ClaimRoom(a) = room %s, not a pool room of the service", a.ID)
	}
	if again := mustClaim(t, s, svc.ID, "a"); again.ID != a.ID {
		t.Fatalf("second ClaimRoom(a) = room %s, want %s", again.ID, a.ID)
	}
	wantPath(t, s, svc.ID, "a", &a)
	b := mustClaim(t, s, svc.ID, "b")
	if b.ID == a.ID || (b.ID != pool[0].ID && b.ID != pool[1].ID) {
		t.Fatalf("ClaimRoom(b) = room %s (a got %s)", b.ID, a.ID)
	}
	wantPoolEmpty(t, s, svc.ID)
	for _, r := range []store.Room{plain, foreign} { // neither was claimable by svc
		got, err := s.GetRoomByID(ctx(t), r.ID)
		wantErr(t, "GetRoomByID", err, nil)
		assertRoom(t, got, r)
	}

	released, err := s.ReleaseRoom(ctx(t), svc.ID, a.ID)
	wantErr(t, "ReleaseRoom", err, nil)
	a.Path = ""
	assertRoom(t, released, a)
	wantPath(t, s, svc.ID, "a", nil)
	if c := mustClaim(t, s, svc.ID, "c"); c.ID != a.ID {
		t.Fatalf("ClaimRoom(c) = room %s, want the released %s", c.ID, a.ID)
	}

	// Releasing any room puts it in the pool.
	released, err = s.ReleaseRoom(ctx(t), svc.ID, plain.ID)
	wantErr(t, "ReleaseRoom(plain room)", err, nil)
	plain.Pool = true
	assertRoom(t, released, plain)
	if d := mustClaim(t, s, svc.ID, "d"); d.ID != plain.ID {
		t.Fatalf("ClaimRoom(d) = room %s, want %s", d.ID, plain.ID)
	}
	_, err = s.ReleaseRoom(ctx(t), svc.ID, foreign.ID)
	wantErr(t, "ReleaseRoom(other service)", err, store.ErrNotFound)
	_, err = s.ReleaseRoom(ctx(t), svc.ID, ids.ObjectID())
	wantErr(t, "ReleaseRoom(missing)", err, store.ErrNotFound)
	if got := mustClaim(t, s, other.ID, "d"); got.ID != foreign.ID {
		t.Fatalf("other service's ClaimRoom(d) = room %s, want %s", got.ID, foreign.ID)
	}
}

func testPoolFlagUpdates(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	r := mustCreate(t, s, newRoom(svc.ID, "x", true)) // a pool room created claimed
	wantPoolEmpty(t, s, svc.ID)
	if got := mustClaim(t, s, svc.ID, "x"); got.ID != r.ID {
		t.Fatalf("ClaimRoom(x) = room %s, want its holder %s", got.ID, r.ID)
	}

	r.Path = "" // an update that removes the path makes it claimable
	wantErr(t, "UpdateRoom(no path)", s.UpdateRoom(ctx(t), r), nil)
	r.Pool = false // and one that clears the flag takes it out of the pool
	wantErr(t, "UpdateRoom(pool false)", s.UpdateRoom(ctx(t), r), nil)
	wantPoolEmpty(t, s, svc.ID)
	r.Pool = true
	wantErr(t, "UpdateRoom(pool true)", s.UpdateRoom(ctx(t), r), nil)
	if got := mustClaim(t, s, svc.ID, "y"); got.ID != r.ID {
		t.Fatalf("ClaimRoom(y) = room %s, want %s", got.ID, r.ID)
	}

	// A refused update leaves a claimable room in the pool.
	mustCreate(t, s, newRoom(svc.ID, "taken", false))
	free := mustCreate(t, s, newRoom(svc.ID, "", true))
	clash := free
	clash.Path = "taken"
	wantErr(t, "UpdateRoom(taken path)", s.UpdateRoom(ctx(t), clash), store.ErrPathTaken)
	if got := mustClaim(t, s, svc.ID, "z"); got.ID != free.ID {
		t.Fatalf("ClaimRoom(z) = room %s, want %s", got.ID, free.ID)
	}
}

func testPoolDeletedRoom(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	r := mustCreate(t, s, newRoom(svc.ID, "", true))
	wantErr(t, "DeleteRoom", s.DeleteRoom(ctx(t), svc.ID, r.ID), nil)
	wantPoolEmpty(t, s, svc.ID)
	claimed := mustCreate(t, s, newRoom(svc.ID, "", true))
	mustClaim(t, s, svc.ID, "p")
	wantErr(t, "DeleteRoom(claimed)", s.DeleteRoom(ctx(t), svc.ID, claimed.ID), nil)
	wantPath(t, s, svc.ID, "p", nil)
	wantPoolEmpty(t, s, svc.ID)
}

// claimAll runs one ClaimRoom per path at once and returns the results in paths' order.
func claimAll(t *testing.T, s store.Store, serviceID string, paths []string) []store.Room {
	t.Helper()
	got := make([]store.Room, len(paths))
	errs := make([]error, len(paths))
	c := ctx(t)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Go(func() {
			<-start
			got[i], errs[i] = s.ClaimRoom(c, serviceID, p)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		wantErr(t, fmt.Sprintf("concurrent ClaimRoom(%q)", paths[i]), err, nil)
		if got[i].Path != paths[i] {
			t.Fatalf("concurrent ClaimRoom(%q) = room %s with path %q", paths[i], got[i].ID, got[i].Path)
		}
	}
	return got
}

// repeat returns n copies of path.
func repeat(path string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = path
	}
	return out
}

// distinct returns n different paths.
func distinct(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// wantClaimable fails t unless exactly n rooms of the service are claimable.
func wantClaimable(t *testing.T, s store.Store, serviceID string, n int) {
	t.Helper()
	for _, p := range distinct("rest", n) {
		mustClaim(t, s, serviceID, p)
	}
	wantPoolEmpty(t, s, serviceID)
}

// wantOneRoom fails t unless every claim returned the same room, which holds the path.
func wantOneRoom(t *testing.T, s store.Store, serviceID string, got []store.Room) store.Room {
	t.Helper()
	for _, r := range got[1:] {
		if r.ID != got[0].ID {
			t.Fatalf("concurrent claims of %q returned rooms %s and %s", got[0].Path, got[0].ID, r.ID)
		}
	}
	wantPath(t, s, serviceID, got[0].Path, &got[0])
	return got[0]
}

// wantDistinctRooms fails t unless the claims returned different rooms, each holding its path,
// none of them other.
func wantDistinctRooms(t *testing.T, s store.Store, serviceID string, got []store.Room, other string) {
	t.Helper()
	seen := map[string]string{other: "the same-path claims"}
	for _, r := range got {
		if p, dup := seen[r.ID]; dup {
			t.Fatalf("claims of %q and %q both got room %s", p, r.Path, r.ID)
		}
		seen[r.ID] = r.Path
		wantPath(t, s, serviceID, r.Path, &r)
	}
}

func testPoolConcurrentSamePath(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	mustCreatePool(t, s, svc.ID, claimers)
	wantOneRoom(t, s, svc.ID, claimAll(t, s, svc.ID, repeat("same", claimers)))
	wantClaimable(t, s, svc.ID, claimers-1) // the other rooms are all back in the pool
}

func testPoolConcurrentDistinctPaths(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	mustCreatePool(t, s, svc.ID, claimers)
	wantDistinctRooms(t, s, svc.ID, claimAll(t, s, svc.ID, distinct("p", claimers)), "")
	wantPoolEmpty(t, s, svc.ID)
}

// testPoolConcurrentMixed races claims of one path with claims of different paths. The pool
// has a room for every claim in flight, so none may find it empty (the MongoDB store's
// same-path losers hold a room until they put it back).
func testPoolConcurrentMixed(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	mustCreatePool(t, s, svc.ID, 2*claimers)
	paths := append(repeat("same", claimers), distinct("p", claimers)...)
	got := claimAll(t, s, svc.ID, paths)
	same := wantOneRoom(t, s, svc.ID, got[:claimers])
	wantDistinctRooms(t, s, svc.ID, got[claimers:], same.ID)
	wantClaimable(t, s, svc.ID, claimers-1)
}
