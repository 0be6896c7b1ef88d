package storetest

import (
	"reflect"
	"testing"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
)

var chatTests = []namedTest{
	{"AppendList", testChatAppendList},
	{"UpdateDelete", testChatUpdateDelete},
	{"Trim", testChatTrim},
	{"DeletedWithRoom", testChatDeletedWithRoom},
}

// appendChat stores n messages in roomID and returns them in id order.
func appendChat(t testing.TB, s store.Store, roomID string, n int) []store.ChatMessage {
	t.Helper()
	out := make([]store.ChatMessage, n)
	for i := range out {
		out[i] = store.ChatMessage{ID: ids.ObjectID(), RoomID: roomID, From: "p1", To: "all",
			Content: "m" + string(rune('a'+i%26)), Timestamp: int64(1_700_000_000_000 + i)}
		wantErr(t, "AppendMessage", s.AppendMessage(ctx(t), out[i]), nil)
	}
	return out
}

func wantMessages(t testing.TB, what string, got, want []store.ChatMessage) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %+v, want %+v", what, got, want)
	}
}

func listChat(t testing.TB, s store.Store, roomID, before string, limit int) []store.ChatMessage {
	t.Helper()
	got, err := s.ListMessages(ctx(t), roomID, before, limit)
	wantErr(t, "ListMessages", err, nil)
	return got
}

func testChatAppendList(t *testing.T, s store.Store) {
	room, other := ids.ObjectID(), ids.ObjectID()
	msgs := appendChat(t, s, room, 5)
	appendChat(t, s, other, 2)
	wantErr(t, "AppendMessage(dup)", s.AppendMessage(ctx(t), msgs[0]), store.ErrDuplicate)
	wantMessages(t, "all", listChat(t, s, room, "", 0), msgs)
	wantMessages(t, "last 2", listChat(t, s, room, "", 2), msgs[3:])
	wantMessages(t, "2 before #3", listChat(t, s, room, msgs[3].ID, 2), msgs[1:3])
	wantMessages(t, "before #0", listChat(t, s, room, msgs[0].ID, 10), nil)
	wantMessages(t, "unknown room", listChat(t, s, ids.ObjectID(), "", 10), nil)
}

func testChatUpdateDelete(t *testing.T, s store.Store) {
	room := ids.ObjectID()
	msgs := appendChat(t, s, room, 3)
	m := msgs[1]
	m.Content, m.Edited = "edited", m.Timestamp+5
	m.Reactions = map[string][]string{"clap": {"p1", "p2"}}
	wantErr(t, "UpdateMessage", s.UpdateMessage(ctx(t), m), nil)
	msgs[1] = m
	wantMessages(t, "after update", listChat(t, s, room, "", 0), msgs)
	missing := m
	missing.ID = ids.ObjectID()
	wantErr(t, "UpdateMessage(missing)", s.UpdateMessage(ctx(t), missing), store.ErrNotFound)
	wantErr(t, "DeleteMessage", s.DeleteMessage(ctx(t), room, m.ID), nil)
	wantErr(t, "DeleteMessage(again)", s.DeleteMessage(ctx(t), room, m.ID), store.ErrNotFound)
	wantMessages(t, "after delete", listChat(t, s, room, "", 0), []store.ChatMessage{msgs[0], msgs[2]})
}

func testChatTrim(t *testing.T, s store.Store) {
	room := ids.ObjectID()
	msgs := appendChat(t, s, room, 6)
	n, err := s.TrimMessages(ctx(t), room, msgs[4].ID)
	wantErr(t, "TrimMessages", err, nil)
	if n != 4 {
		t.Fatalf("TrimMessages removed %d, want 4", n)
	}
	wantMessages(t, "after trim", listChat(t, s, room, "", 0), msgs[4:])
}

func testChatDeletedWithRoom(t *testing.T, s store.Store) {
	svc := mustCreateService(t, s)
	r1, r2 := mustCreateRoom(t, s, svc.ID), mustCreateRoom(t, s, svc.ID)
	appendChat(t, s, r1.ID, 2)
	kept := appendChat(t, s, r2.ID, 2)
	wantErr(t, "DeleteRoom", s.DeleteRoom(ctx(t), svc.ID, r1.ID), nil)
	wantMessages(t, "deleted room", listChat(t, s, r1.ID, "", 0), nil)
	wantMessages(t, "other room", listChat(t, s, r2.ID, "", 0), kept)
	wantErr(t, "DeleteService", s.DeleteService(ctx(t), svc.ID), nil)
	wantMessages(t, "deleted service", listChat(t, s, r2.ID, "", 0), nil)
	r3 := ids.ObjectID()
	appendChat(t, s, r3, 1)
	wantErr(t, "DeleteRoomMessages", s.DeleteRoomMessages(ctx(t), r3), nil)
	wantMessages(t, "DeleteRoomMessages", listChat(t, s, r3, "", 0), nil)
}
