package storetest

import (
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
)

var streamKeyTests = []namedTest{
	{"CreateGet", testStreamKeyCreateGet},
	{"Duplicate", testStreamKeyDuplicate},
	{"ListScoped", testStreamKeyList},
	{"Delete", testStreamKeyDelete},
}

func newStreamKey(serviceID, roomID string) store.StreamKey {
	return store.StreamKey{ID: ids.ObjectID(), ServiceID: serviceID, RoomID: roomID, User: "obs",
		Role: "presenter", Hash: ids.RandomHex(32), Created: time.Now()}
}

func testStreamKeyCreateGet(t *testing.T, s store.Store) {
	k := newStreamKey(ids.ObjectID(), ids.ObjectID())
	wantErr(t, "CreateStreamKey", s.CreateStreamKey(ctx(t), k), nil)
	got, err := s.GetStreamKey(ctx(t), k.ID)
	wantErr(t, "GetStreamKey", err, nil)
	if !got.Created.Equal(k.Created.Truncate(time.Millisecond)) {
		t.Fatalf("Created = %v, want %v (millisecond precision)", got.Created, k.Created)
	}
	got.Created, k.Created = time.Time{}, time.Time{}
	if got != k {
		t.Fatalf("GetStreamKey = %+v, want %+v", got, k)
	}
	_, err = s.GetStreamKey(ctx(t), ids.ObjectID())
	wantErr(t, "GetStreamKey(unknown)", err, store.ErrNotFound)
}

func testStreamKeyDuplicate(t *testing.T, s store.Store) {
	k := newStreamKey(ids.ObjectID(), ids.ObjectID())
	wantErr(t, "CreateStreamKey", s.CreateStreamKey(ctx(t), k), nil)
	wantErr(t, "CreateStreamKey(same id)", s.CreateStreamKey(ctx(t), k), store.ErrDuplicate)
}

func testStreamKeyList(t *testing.T, s store.Store) {
	svc, room := ids.ObjectID(), ids.ObjectID()
	a, b := newStreamKey(svc, room), newStreamKey(svc, room)
	for _, k := range []store.StreamKey{a, b, newStreamKey(svc, ids.ObjectID()), newStreamKey(ids.ObjectID(), room)} {
		wantErr(t, "CreateStreamKey", s.CreateStreamKey(ctx(t), k), nil)
	}
	got, err := s.ListStreamKeys(ctx(t), svc, room)
	wantErr(t, "ListStreamKeys", err, nil)
	if len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID {
		t.Fatalf("ListStreamKeys = %+v, want %s and %s in order", got, a.ID, b.ID)
	}
	empty, err := s.ListStreamKeys(ctx(t), ids.ObjectID(), room)
	wantErr(t, "ListStreamKeys(other service)", err, nil)
	if empty == nil || len(empty) != 0 {
		t.Fatalf("ListStreamKeys(other service) = %#v, want an empty list", empty)
	}
}

func testStreamKeyDelete(t *testing.T, s store.Store) {
	k := newStreamKey(ids.ObjectID(), ids.ObjectID())
	wantErr(t, "CreateStreamKey", s.CreateStreamKey(ctx(t), k), nil)
	wantErr(t, "DeleteStreamKey(other room)", s.DeleteStreamKey(ctx(t), k.ServiceID, ids.ObjectID(), k.ID), store.ErrNotFound)
	wantErr(t, "DeleteStreamKey(other service)", s.DeleteStreamKey(ctx(t), ids.ObjectID(), k.RoomID, k.ID), store.ErrNotFound)
	wantErr(t, "DeleteStreamKey", s.DeleteStreamKey(ctx(t), k.ServiceID, k.RoomID, k.ID), nil)
	_, err := s.GetStreamKey(ctx(t), k.ID)
	wantErr(t, "GetStreamKey(deleted)", err, store.ErrNotFound)
	wantErr(t, "DeleteStreamKey(again)", s.DeleteStreamKey(ctx(t), k.ServiceID, k.RoomID, k.ID), store.ErrNotFound)
}
