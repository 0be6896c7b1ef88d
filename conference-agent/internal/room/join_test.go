package room

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
	model "github.com/conclave-rtc/conclave/common/room"
)

func TestRoomJoinChecks(t *testing.T) {
	tests := []struct {
		name   string
		limit  int
		before []string
		joiner protocol.Joiner
		want   string
	}{
		{"ok", -1, nil, protocol.Joiner{ID: "a", Role: "presenter"}, ""},
		{"limit reached", 2, []string{"x", "y"}, protocol.Joiner{ID: "a", Role: "presenter"}, "Room is full"},
		{"below limit", 2, []string{"x"}, protocol.Joiner{ID: "a", Role: "presenter"}, ""},
		{"limit zero is unlimited", 0, []string{"x", "y"}, protocol.Joiner{ID: "a", Role: "presenter"}, ""},
		{"unknown role", -1, nil, protocol.Joiner{ID: "a", Role: "guest"}, "Invalid role"},
		{"duplicate", -1, []string{"a"}, protocol.Joiner{ID: "a", Role: "viewer"}, "Participant already in room"},
		{"full before role", 1, []string{"x"}, protocol.Joiner{ID: "a", Role: "guest"}, "Room is full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(r *model.Room) { r.ParticipantLimit = tt.limit })
			for _, id := range tt.before {
				h.join(id, "presenter", "portal-1")
			}
			_, err := h.r.Join(context.Background(), tt.joiner)
			wantErr(t, err, tt.want)
		})
	}
}

func TestRoomJoinResultAndNotices(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", "presenter", "portal-1")
	h.notes.take()
	res := h.join("b", "viewer", "portal-2")
	if res.Permission != (protocol.Permission{Subscribe: protocol.AV{Audio: true, Video: true}}) {
		t.Fatalf("viewer permission = %+v", res.Permission)
	}
	if res.Room.ID != "room1" || len(res.Room.Views) != 1 || res.Room.Views[0] != "common" {
		t.Fatalf("room = %+v", res.Room)
	}
	if len(res.Room.Participants) != 2 || res.Room.Participants[0].ID != "a" || res.Room.Participants[1].ID != "b" {
		t.Fatalf("participants = %+v", res.Room.Participants)
	}
	notes := h.notes.take()
	if len(notes) != 1 || notes[0].portal != "portal-1" || notes[0].event != protocol.EventParticipant {
		t.Fatalf("notices = %+v", notes)
	}
	if got := string(notes[0].data); got != `{"action":"join","data":{"id":"b","user":"user-b","role":"viewer"}}` {
		t.Fatalf("join notice = %s", got)
	}
	if err := h.r.Leave("b"); err != nil {
		t.Fatal(err)
	}
	notes = h.notes.take()
	if len(notes) != 1 || string(notes[0].data) != `{"action":"leave","data":"b"}` {
		t.Fatalf("leave notices = %+v", notes)
	}
	wantErr(t, h.r.Leave("b"), "Participant has not joined")
}

func TestRoomParticipantNoticesGated(t *testing.T) {
	h := newHarness(t, func(r *model.Room) { r.Notifying.ParticipantActivities = false })
	h.join("a", "presenter", "portal-1")
	h.join("b", "presenter", "portal-1")
	if err := h.r.Leave("b"); err != nil {
		t.Fatal(err)
	}
	if notes := h.notes.take(); len(notes) != 0 {
		t.Fatalf("notices with participantActivities off: %+v", notes)
	}
}

func TestRoomBroadcastOneNoticePerPortal(t *testing.T) {
	h := newHarness(t, nil)
	h.join("a", "presenter", "portal-1")
	h.join("b", "presenter", "portal-2")
	h.join("c", "presenter", "portal-1")
	h.notes.take()
	if err := h.r.Text(context.Background(), protocol.TextRequest{From: "a", To: "all", Message: "hi"}); err != nil {
		t.Fatal(err)
	}
	notes := only(h.notes.take(), protocol.EventText)
	if len(notes) != 2 {
		t.Fatalf("want one notice per portal, got %+v", notes)
	}
	if notes[0].portal != "portal-1" || strings.Join(notes[0].participants, ",") != "a,c" ||
		notes[1].portal != "portal-2" || strings.Join(notes[1].participants, ",") != "b" {
		t.Fatalf("notices = %+v", notes)
	}
}

func TestRoomText(t *testing.T) {
	tests := []struct {
		name string
		req  protocol.TextRequest
		want string
		to   []string // recipients
		data string
	}{
		{"to all", protocol.TextRequest{From: "a", To: "all", Message: "hi"}, "", []string{"a", "b"},
			`{"from":"a","to":"all","message":"hi"}`},
		{"direct", protocol.TextRequest{From: "a", To: "b", Message: "yo"}, "", []string{"b"},
			`{"from":"a","to":"me","message":"yo"}`},
		{"unknown target", protocol.TextRequest{From: "a", To: "zz", Message: "yo"}, "Target participant does NOT exist: zz", nil, ""},
		{"no receiver", protocol.TextRequest{From: "a", Message: "yo"}, "Invalid receiver", nil, ""},
		{"not joined", protocol.TextRequest{From: "q", To: "all", Message: "yo"}, "Participant has not joined", nil, ""},
		{"too long", protocol.TextRequest{From: "a", To: "all", Message: strings.Repeat("x", MaxTextLength+1)},
			"Text message is too long", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.join("a", "presenter", "p1")
			h.join("b", "presenter", "p2")
			h.notes.take()
			wantErr(t, h.r.Text(context.Background(), tt.req), tt.want)
			notes := only(h.notes.take(), protocol.EventText) // the `chat` events: chat_test.go
			var got []string
			for _, n := range notes {
				if n.event != protocol.EventText || string(n.data) != tt.data {
					t.Fatalf("notice %+v", n)
				}
				got = append(got, n.participants...)
			}
			if strings.Join(got, ",") != strings.Join(tt.to, ",") {
				t.Fatalf("recipients = %v, want %v", got, tt.to)
			}
		})
	}
}

func TestRoomSelfCleanTiming(t *testing.T) {
	const grace = 30 * time.Second
	h := newHarness(t, nil)
	if h.r.CleanDue(grace) {
		t.Fatal("a new room is not due at once")
	}
	h.advance(grace)
	if !h.r.CleanDue(grace) {
		t.Fatal("a room never joined is due after the grace")
	}
	h.join("a", "presenter", "p1")
	h.advance(2 * grace)
	if h.r.CleanDue(grace) {
		t.Fatal("a room with participants is never due")
	}
	h.publish("a", "s1", "t1")
	if err := h.r.Leave("a"); err != nil {
		t.Fatal(err)
	}
	h.advance(grace - time.Millisecond)
	if h.r.CleanDue(grace) {
		t.Fatal("due before the grace since the last participant left")
	}
	h.advance(time.Millisecond)
	if !h.r.CleanDue(grace) || !h.r.CloseIfIdle() {
		t.Fatal("not cleaned after the grace")
	}
	_, err := h.r.Join(context.Background(), protocol.Joiner{ID: "b", Role: "presenter"})
	wantErr(t, err, protocol.ErrNotOwner)
}
