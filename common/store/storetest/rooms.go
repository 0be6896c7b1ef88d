package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
)

var roomTests = []namedTest{
	{"CreateGet", testRoomCreateGet},
	{"ConfigRoundTrip", testRoomConfigRoundTrip},
	{"InvalidConfig", testRoomInvalidConfig},
	{"MissingService", testRoomMissingService},
	{"Duplicate", testRoomDuplicate},
	{"Scoping", testRoomScoping},
	{"ListPagination", testRoomListPagination},
	{"Update", testRoomUpdate},
	{"Delete", testRoomDelete},
}

// roomConfig exercises the JSON values a store must keep exactly: negative and fractional
// numbers, integers beyond 2^53, nesting, arrays, null and booleans, in a fixed key order.
const roomConfig = `{"name":"conf","inputLimit":-1,"participantLimit":0,` +
	`"views":[{"label":"common","video":{"layout":{"fitPolicy":"letterbox"},"bgColor":{"r":0,"g":0,"b":0},` +
	`"parameters":{"resolution":{"width":1280,"height":720},"framerate":24,"keyFrameInterval":100}},` +
	`"audio":null}],"ratio":0.8,"big":9007199254740993,"neg":-123456789012,"small":1e-7,` +
	`"flag":true,"roles":[{"role":"presenter","publish":{"audio":true,"video":true}}],"empty":{},"list":[]}`

func testRoomCreateGet(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	r := store.Room{ID: ids.ObjectID(), ServiceID: svc.ID, Config: []byte(roomConfig)}
	wantErr(t, "CreateRoom", s.CreateRoom(ctx(t), r), nil)
	got, err := s.GetRoom(ctx(t), svc.ID, r.ID)
	wantErr(t, "GetRoom", err, nil)
	assertRoom(t, got, r)
	got, err = s.GetRoomByID(ctx(t), r.ID)
	wantErr(t, "GetRoomByID", err, nil)
	assertRoom(t, got, r)
}

func testRoomConfigRoundTrip(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	r := store.Room{ID: ids.ObjectID(), ServiceID: svc.ID, Config: []byte(roomConfig)}
	wantErr(t, "CreateRoom", s.CreateRoom(ctx(t), r), nil)
	got, err := s.GetRoom(ctx(t), svc.ID, r.ID)
	wantErr(t, "GetRoom", err, nil)
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(got.Config))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("stored config is not JSON: %v", err)
	}
	for key, want := range map[string]string{"inputLimit": "-1", "participantLimit": "0",
		"ratio": "0.8", "big": "9007199254740993", "neg": "-123456789012", "small": "1e-7"} {
		n, ok := m[key].(json.Number)
		if !ok || normNumber(n) != normNumber(json.Number(want)) {
			t.Errorf("config %s = %v, want %s", key, m[key], want)
		}
	}
	if keyOrder(t, got.Config)[0] != "name" {
		t.Errorf("config key order not kept: %s", got.Config)
	}
}

func testRoomInvalidConfig(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	for _, cfg := range []string{``, `not json`, `[1,2]`, `null`, `"x"`, `{"a":`} {
		r := store.Room{ID: ids.ObjectID(), ServiceID: svc.ID, Config: []byte(cfg)}
		err := s.CreateRoom(ctx(t), r)
		if err == nil || errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrNotFound) {
			t.Errorf("CreateRoom(config %q) = %v, want an invalid-config error", cfg, err)
		}
	}
}

func testRoomMissingService(t *testing.T, s store.Store) {
	r := store.Room{ID: ids.ObjectID(), ServiceID: ids.ObjectID(), Config: []byte(`{}`)}
	wantErr(t, "CreateRoom(missing service)", s.CreateRoom(ctx(t), r), store.ErrNotFound)
	_, err := s.GetRoomByID(ctx(t), r.ID)
	wantErr(t, "GetRoomByID", err, store.ErrNotFound)
}

func testRoomDuplicate(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	r := mustCreateRoom(t, s, svc.ID)
	dup := store.Room{ID: r.ID, ServiceID: svc.ID, Config: []byte(`{"name":"other"}`)}
	wantErr(t, "CreateRoom(duplicate id)", s.CreateRoom(ctx(t), dup), store.ErrDuplicate)
	got, err := s.GetRoom(ctx(t), svc.ID, r.ID)
	wantErr(t, "GetRoom", err, nil)
	assertRoom(t, got, r)
}

func testRoomScoping(t *testing.T, s store.Store) {
	a := mustCreateService(t, s)
	b := mustCreateService(t, s)
	ra := mustCreateRoom(t, s, a.ID)
	_, err := s.GetRoom(ctx(t), b.ID, ra.ID)
	wantErr(t, "GetRoom(other service)", err, store.ErrNotFound)
	upd := store.Room{ID: ra.ID, ServiceID: b.ID, Config: []byte(`{"name":"hijack"}`)}
	wantErr(t, "UpdateRoom(other service)", s.UpdateRoom(ctx(t), upd), store.ErrNotFound)
	wantErr(t, "DeleteRoom(other service)", s.DeleteRoom(ctx(t), b.ID, ra.ID), store.ErrNotFound)
	list, err := s.ListRooms(ctx(t), b.ID, 0, 0)
	wantErr(t, "ListRooms(b)", err, nil)
	if len(list) != 0 {
		t.Fatalf("service b sees %d rooms of service a", len(list))
	}
	got, err := s.GetRoom(ctx(t), a.ID, ra.ID)
	wantErr(t, "GetRoom(owner)", err, nil)
	assertRoom(t, got, ra)
}

func testRoomListPagination(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	other := mustCreateService(t, s)
	mustCreateRoom(t, s, other.ID)
	const n = 7
	all := make([]store.Room, n)
	for i := range all {
		all[i] = store.Room{ID: ids.ObjectID(), ServiceID: svc.ID,
			Config: []byte(`{"n":` + strconv.Itoa(i) + `}`)}
	}
	slices.SortFunc(all, func(a, b store.Room) int { return strings.Compare(a.ID, b.ID) })
	for _, i := range []int{3, 0, 6, 1, 5, 2, 4} { // insertion order differs from id order
		wantErr(t, "CreateRoom", s.CreateRoom(ctx(t), all[i]), nil)
	}
	tests := []struct{ skip, limit, from, to int }{
		{0, 0, 0, n}, {0, -1, 0, n}, {0, 3, 0, 3}, {3, 3, 3, 6}, {6, 3, 6, 7},
		{7, 3, 7, 7}, {100, 0, 7, 7}, {2, 0, 2, 7}, {0, 100, 0, 7},
	}
	for _, tc := range tests {
		got, err := s.ListRooms(ctx(t), svc.ID, tc.skip, tc.limit)
		wantErr(t, "ListRooms", err, nil)
		want := all[tc.from:tc.to]
		if len(got) != len(want) {
			t.Fatalf("ListRooms(skip %d, limit %d) returned %d rooms, want %d",
				tc.skip, tc.limit, len(got), len(want))
		}
		for i := range got {
			assertRoom(t, got[i], want[i])
		}
		if v, ok := s.(store.RoomVisitor); ok { // the same rooms, seen in place
			var seen []string
			err := v.VisitRooms(ctx(t), svc.ID, tc.skip, tc.limit, func(r store.Room) error {
				seen = append(seen, r.ID+" "+string(r.Config))
				return nil
			})
			wantErr(t, "VisitRooms", err, nil)
			if len(seen) != len(want) {
				t.Fatalf("VisitRooms(skip %d, limit %d) saw %d rooms, want %d", tc.skip, tc.limit, len(seen), len(want))
			}
			for i, r := range want {
				if seen[i] != r.ID+" "+string(r.Config) {
					t.Fatalf("VisitRooms saw %q, want room %s %s", seen[i], r.ID, r.Config)
				}
			}
		}
	}
}

func testRoomUpdate(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	r := mustCreateRoom(t, s, svc.ID)
	r.Config = []byte(`{"name":"renamed","inputLimit":5}`)
	wantErr(t, "UpdateRoom", s.UpdateRoom(ctx(t), r), nil)
	got, err := s.GetRoom(ctx(t), svc.ID, r.ID)
	wantErr(t, "GetRoom", err, nil)
	assertRoom(t, got, r)
	missing := store.Room{ID: ids.ObjectID(), ServiceID: svc.ID, Config: []byte(`{}`)}
	wantErr(t, "UpdateRoom(missing)", s.UpdateRoom(ctx(t), missing), store.ErrNotFound)
	_, err = s.GetRoomByID(ctx(t), missing.ID)
	wantErr(t, "GetRoomByID(not upserted)", err, store.ErrNotFound)
}

func testRoomDelete(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	r := mustCreateRoom(t, s, svc.ID)
	keep := mustCreateRoom(t, s, svc.ID)
	wantErr(t, "DeleteRoom", s.DeleteRoom(ctx(t), svc.ID, r.ID), nil)
	_, err := s.GetRoom(ctx(t), svc.ID, r.ID)
	wantErr(t, "GetRoom(deleted)", err, store.ErrNotFound)
	wantErr(t, "DeleteRoom(again)", s.DeleteRoom(ctx(t), svc.ID, r.ID), store.ErrNotFound)
	got, err := s.GetService(ctx(t), svc.ID)
	wantErr(t, "GetService", err, nil)
	if len(got.Rooms) != 1 || got.Rooms[0] != keep.ID {
		t.Fatalf("service rooms after delete = %v, want [%s]", got.Rooms, keep.ID)
	}
}

// assertRoom compares rooms, treating configs as equal when they hold the same JSON value.
func assertRoom(t testing.TB, got, want store.Room) {
	t.Helper()
	if got.ID != want.ID || got.ServiceID != want.ServiceID {
		t.Fatalf("room = %s/%s, want %s/%s", got.ServiceID, got.ID, want.ServiceID, want.ID)
	}
	if got.Path != want.Path || got.Pool != want.Pool {
		t.Fatalf("room %s path %q pool %v, want path %q pool %v", got.ID, got.Path, got.Pool, want.Path, want.Pool)
	}
	if !reflect.DeepEqual(normJSON(t, got.Config), normJSON(t, want.Config)) {
		t.Fatalf("room %s config = %s, want %s", got.ID, got.Config, want.Config)
	}
}

// normJSON decodes raw with numbers normalised, so 1.0 and 1 (or 1e-7 and 1E-07) compare equal
// while 9007199254740993 and 9007199254740992 do not.
func normJSON(t testing.TB, raw []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("config %q is not JSON: %v", raw, err)
	}
	return normValue(v)
}

func normValue(v any) any {
	switch x := v.(type) {
	case json.Number:
		return normNumber(x)
	case map[string]any:
		for k, e := range x {
			x[k] = normValue(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normValue(e)
		}
	}
	return v
}

func normNumber(n json.Number) string {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return strconv.FormatInt(i, 10)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return string(n)
	}
	if f == float64(int64(f)) && f < 1<<53 && f > -(1<<53) {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// keyOrder returns the top-level keys of a JSON object in document order.
func keyOrder(t testing.TB, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("config %s is not an object", raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("config %s: %v", raw, err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("config %s: %v", raw, err)
		}
	}
	if len(keys) == 0 {
		t.Fatalf("config %s has no keys", raw)
	}
	return keys
}
