package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
)

var serviceTests = []namedTest{
	{"CreateGet", testServiceCreateGet},
	{"Missing", testServiceMissing},
	{"Duplicate", testServiceDuplicate},
	{"List", testServiceList},
	{"RoomsListed", testServiceRoomsListed},
	{"DeleteRemovesRooms", testServiceDeleteRemovesRooms},
}

func testServiceCreateGet(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	got, err := s.GetService(ctx(t), svc.ID)
	wantErr(t, "GetService", err, nil)
	if got.ID != svc.ID || got.Name != svc.Name || got.Key != svc.Key {
		t.Fatalf("GetService = %+v, want %+v", got, svc)
	}
	if len(got.Rooms) != 0 {
		t.Fatalf("new service has rooms %v", got.Rooms)
	}
}

func testServiceMissing(t *testing.T, s store.Store) {
	_, err := s.GetService(ctx(t), ids.ObjectID())
	wantErr(t, "GetService(missing)", err, store.ErrNotFound)
	wantErr(t, "DeleteService(missing)", s.DeleteService(ctx(t), ids.ObjectID()), store.ErrNotFound)
}

func testServiceDuplicate(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	sameName := newService()
	sameName.Name = svc.Name
	wantErr(t, "CreateService(same name)", s.CreateService(ctx(t), sameName), store.ErrDuplicate)
	sameID := newService()
	sameID.ID = svc.ID
	wantErr(t, "CreateService(same id)", s.CreateService(ctx(t), sameID), store.ErrDuplicate)
	// The failed attempts must not have changed the original.
	got, err := s.GetService(ctx(t), svc.ID)
	wantErr(t, "GetService", err, nil)
	if got.Name != svc.Name || got.Key != svc.Key {
		t.Fatalf("service changed by a rejected duplicate: %+v", got)
	}
	list, err := s.ListServices(ctx(t))
	wantErr(t, "ListServices", err, nil)
	if len(list) != 1 {
		t.Fatalf("ListServices has %d services, want 1", len(list))
	}
	// The name is free again once the service is gone.
	wantErr(t, "DeleteService", s.DeleteService(ctx(t), svc.ID), nil)
	wantErr(t, "CreateService(reused name)", s.CreateService(ctx(t), sameName), nil)
}

func testServiceList(t *testing.T, s store.Store) {
	list, err := s.ListServices(ctx(t))
	wantErr(t, "ListServices(empty)", err, nil)
	if len(list) != 0 {
		t.Fatalf("empty store lists %d services", len(list))
	}
	created := []store.Service{newService(), newService(), newService()}
	slices.SortFunc(created, func(a, b store.Service) int { return strings.Compare(a.ID, b.ID) })
	for _, i := range []int{2, 0, 1} { // out of id order
		wantErr(t, "CreateService", s.CreateService(ctx(t), created[i]), nil)
	}
	room := mustCreateRoom(t, s, created[1].ID)
	list, err = s.ListServices(ctx(t))
	wantErr(t, "ListServices", err, nil)
	if len(list) != len(created) {
		t.Fatalf("ListServices returned %d, want %d", len(list), len(created))
	}
	for i, got := range list {
		want := created[i]
		if got.ID != want.ID || got.Name != want.Name || got.Key != want.Key {
			t.Fatalf("ListServices[%d] = %+v, want %+v", i, got, want)
		}
	}
	if !slices.Equal(list[1].Rooms, []string{room.ID}) {
		t.Fatalf("ListServices rooms = %v, want [%s]", list[1].Rooms, room.ID)
	}
}

func testServiceRoomsListed(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	other := mustCreateService(t, s)
	mustCreateRoom(t, s, other.ID)
	var want []string
	for range 3 {
		want = append(want, mustCreateRoom(t, s, svc.ID).ID)
	}
	slices.Sort(want) // ObjectIDs made in the same second are not in creation order
	got, err := s.GetService(ctx(t), svc.ID)
	wantErr(t, "GetService", err, nil)
	if !slices.Equal(got.Rooms, want) {
		t.Fatalf("Rooms = %v, want %v", got.Rooms, want)
	}
}

func testServiceDeleteRemovesRooms(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	other := mustCreateService(t, s)
	r1 := mustCreateRoom(t, s, svc.ID)
	r2 := mustCreateRoom(t, s, svc.ID)
	kept := mustCreateRoom(t, s, other.ID)
	wantErr(t, "DeleteService", s.DeleteService(ctx(t), svc.ID), nil)
	_, err := s.GetService(ctx(t), svc.ID)
	wantErr(t, "GetService(deleted)", err, store.ErrNotFound)
	for _, r := range []store.Room{r1, r2} {
		_, err := s.GetRoomByID(ctx(t), r.ID)
		wantErr(t, "GetRoomByID(room of deleted service)", err, store.ErrNotFound)
	}
	rooms, err := s.ListRooms(ctx(t), svc.ID, 0, 0)
	wantErr(t, "ListRooms(deleted service)", err, nil)
	if len(rooms) != 0 {
		t.Fatalf("deleted service still lists %d rooms", len(rooms))
	}
	if _, err := s.GetRoom(ctx(t), other.ID, kept.ID); err != nil {
		t.Fatalf("other service's room lost: %v", err)
	}
}
