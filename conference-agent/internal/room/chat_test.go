package room

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/conclave-rtc/conclave/common/protocol"
	model "github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/common/store"
)

// fakeChat is an in-memory ChatStore; fail makes every write fail.
type fakeChat struct {
	mu   sync.Mutex
	msgs []store.ChatMessage
	fail error
}

func (f *fakeChat) AppendMessage(_ context.Context, m store.ChatMessage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.msgs = append(f.msgs, m)
	return nil
}

func (f *fakeChat) UpdateMessage(_ context.Context, m store.ChatMessage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	for i := range f.msgs {
		if f.msgs[i].ID == m.ID {
			f.msgs[i] = m
			return nil
		}
	}
	return store.ErrNotFound
}

func (f *fakeChat) DeleteMessage(_ context.Context, _, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	n := len(f.msgs)
	f.msgs = slices.DeleteFunc(f.msgs, func(m store.ChatMessage) bool { return m.ID == id })
	if len(f.msgs) == n {
		return store.ErrNotFound
	}
	return nil
}

func (f *fakeChat) ListMessages(_ context.Context, _, before string, limit int) ([]store.ChatMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.ChatMessage
	for _, m := range f.msgs {
		if before == "" || m.ID < before {
			out = append(out, m)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

func (f *fakeChat) TrimMessages(_ context.Context, _, keepFrom string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.msgs)
	f.msgs = slices.DeleteFunc(f.msgs, func(m store.ChatMessage) bool { return m.ID < keepFrom })
	return n - len(f.msgs), nil
}

func (f *fakeChat) contents() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, m := range f.msgs {
		out = append(out, m.Content)
	}
	return out
}

// only keeps the notices of event.
func only(notes []sent, event string) []sent {
	var out []sent
	for _, n := range notes {
		if n.event == event {
			out = append(out, n)
		}
	}
	return out
}

// chatHarness is a room with a fake chat store and a moderating "host" role.
func chatHarness(t *testing.T, limits ChatLimits) (*harness, *fakeChat) {
	t.Helper()
	fc := &fakeChat{}
	h := newHarnessDeps(t, func(r *model.Room) {
		r.Roles = append(r.Roles, model.Role{Role: "host", Moderate: true})
	}, func(d *Deps) { d.Chat, d.ChatLimits = fc, limits })
	if err := h.r.LoadChat(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h, fc
}

// chatEvents returns the `chat` events participant got, decoded.
func chatEvents(t *testing.T, notes []sent, participant string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, n := range find(notes, participant, protocol.EventChat) {
		out = append(out, decodeJSON(t, n.data))
	}
	return out
}

func wantChat(t *testing.T, notes []sent, participant, action string, check func(msg map[string]any)) {
	t.Helper()
	evs := chatEvents(t, notes, participant)
	if len(evs) != 1 || evs[0]["action"] != action {
		t.Fatalf("%s: chat events %v, want one %q", participant, evs, action)
	}
	if check != nil {
		check(evs[0]["message"].(map[string]any))
	}
}

func send(t *testing.T, h *harness, from, to, content string) protocol.ChatMessage {
	t.Helper()
	m, err := h.r.ChatSend(context.Background(), protocol.ChatRequest{ParticipantID: from, To: to, Content: content})
	if err != nil {
		t.Fatalf("ChatSend: %v", err)
	}
	return m
}

func TestChatSendEditReactDelete(t *testing.T) {
	h, fc := chatHarness(t, ChatLimits{})
	h.join("a", "presenter", "p1")
	h.join("b", "presenter", "p2")
	h.notes.take()
	ctx := context.Background()

	m := send(t, h, "a", "all", "<b>hi</b>")
	if m.ID == "" || m.From != "a" || m.To != "all" || m.Timestamp != h.now.UnixMilli() || m.Edited != 0 {
		t.Fatalf("sent %+v", m)
	}
	notes := h.notes.take()
	for _, p := range []string{"a", "b"} {
		wantChat(t, notes, p, protocol.ChatNew, func(msg map[string]any) {
			if msg["content"] != "<b>hi</b>" || msg["id"] != m.ID {
				t.Fatalf("new %v", msg)
			}
		})
		if texts := find(notes, p, protocol.EventText); len(texts) != 1 ||
			string(texts[0].data) != `{"from":"a","to":"all","message":"\u003cb\u003ehi\u003c/b\u003e"}` {
			t.Fatalf("%s: text events %+v", p, texts)
		}
	}

	_, err := h.r.ChatEdit(ctx, protocol.ChatRequest{ParticipantID: "b", ID: m.ID, Content: "x"})
	wantErr(t, err, msgNotYourMessage)
	h.advance(1000)
	edited, err := h.r.ChatEdit(ctx, protocol.ChatRequest{ParticipantID: "a", ID: m.ID, Content: "hello"})
	if err != nil || edited.Content != "hello" || edited.Edited != h.now.UnixMilli() {
		t.Fatalf("edit: %+v %v", edited, err)
	}
	wantChat(t, h.notes.take(), "b", protocol.ChatEdit, nil)

	_, err = h.r.ChatReact(ctx, protocol.ChatRequest{ParticipantID: "b", ID: m.ID, Reaction: "wow", Add: true})
	wantErr(t, err, msgInvalidReaction)
	for _, who := range []string{"b", "a", "b"} { // b twice: one of a type per participant
		if _, err := h.r.ChatReact(ctx, protocol.ChatRequest{ParticipantID: who, ID: m.ID, Reaction: "clap", Add: true}); err != nil {
			t.Fatal(err)
		}
	}
	reacted, _ := h.r.ChatReact(ctx, protocol.ChatRequest{ParticipantID: "a", ID: m.ID, Reaction: "laugh", Add: true})
	if got := reacted.Reactions; strings.Join(got["clap"], ",") != "b,a" || strings.Join(got["laugh"], ",") != "a" {
		t.Fatalf("reactions %v", got)
	}
	reacted, _ = h.r.ChatReact(ctx, protocol.ChatRequest{ParticipantID: "a", ID: m.ID, Reaction: "laugh"})
	if _, ok := reacted.Reactions["laugh"]; ok || len(reacted.Reactions) != 1 {
		t.Fatalf("after removal: %v", reacted.Reactions)
	}
	notes = h.notes.take()
	if n := len(chatEvents(t, notes, "a")); n != 5 {
		t.Fatalf("a got %d react events, want 5", n)
	}
	if got := fc.msgs[0].Reactions["clap"]; strings.Join(got, ",") != "b,a" {
		t.Fatalf("stored reactions %v", fc.msgs[0].Reactions)
	}

	wantErr(t, h.r.ChatDelete(ctx, protocol.ChatRequest{ParticipantID: "b", ID: m.ID}), msgCannotDelete)
	wantErr(t, h.r.ChatDelete(ctx, protocol.ChatRequest{ParticipantID: "a", ID: m.ID}), "")
	wantChat(t, h.notes.take(), "b", protocol.ChatDelete, func(msg map[string]any) {
		if msg["deleted"] != true || msg["content"] != "" || msg["id"] != m.ID {
			t.Fatalf("delete event %v", msg)
		}
	})
	wantErr(t, h.r.ChatDelete(ctx, protocol.ChatRequest{ParticipantID: "a", ID: m.ID}), msgMessageNotFound)
	if len(fc.contents()) != 0 {
		t.Fatalf("store still holds %v", fc.contents())
	}
}

func TestChatRefusals(t *testing.T) {
	h, _ := chatHarness(t, ChatLimits{})
	h.join("a", "presenter", "p1")
	ctx := context.Background()
	for _, tc := range []struct {
		req  protocol.ChatRequest
		want string
	}{
		{protocol.ChatRequest{ParticipantID: "a", To: "all"}, msgInvalidContent},
		{protocol.ChatRequest{ParticipantID: "a", Content: "x"}, msgInvalidReceiver},
		{protocol.ChatRequest{ParticipantID: "a", To: "zz", Content: "x"}, msgTargetNotExist + "zz"},
		{protocol.ChatRequest{ParticipantID: "q", To: "all", Content: "x"}, msgNotJoined},
		{protocol.ChatRequest{ParticipantID: "a", To: "all", Content: strings.Repeat("x", MaxTextLength+1)}, msgTextTooLong},
	} {
		_, err := h.r.ChatSend(ctx, tc.req)
		wantErr(t, err, tc.want)
	}
	_, err := h.r.ChatHistory(protocol.ChatHistoryRequest{ParticipantID: "a", Limit: ChatHistoryMax + 1})
	if err == nil {
		t.Fatal("history limit 101 accepted")
	}
}

func TestChatDirectScope(t *testing.T) {
	h, _ := chatHarness(t, ChatLimits{})
	for _, p := range []string{"a", "b", "c"} {
		h.join(p, "presenter", "portal-"+p)
	}
	h.notes.take()
	ctx := context.Background()
	all := send(t, h, "a", "all", "everyone")
	direct := send(t, h, "a", "b", "psst")
	notes := h.notes.take()
	if n := len(chatEvents(t, notes, "c")); n != 1 {
		t.Fatalf("c got %d chat events, want only the room message", n)
	}
	for _, p := range []string{"a", "b"} {
		if n := len(chatEvents(t, notes, p)); n != 2 {
			t.Fatalf("%s got %d chat events, want 2", p, n)
		}
	}
	if texts := find(notes, "a", protocol.EventText); len(texts) != 1 {
		t.Fatalf("a got %d text events: OWT sends a direct text to its target only", len(texts))
	}
	if texts := find(notes, "b", protocol.EventText); len(texts) != 2 || string(texts[1].data) != `{"from":"a","to":"me","message":"psst"}` {
		t.Fatalf("b text events %+v", texts)
	}
	hist := func(p string) []string {
		res, err := h.r.ChatHistory(protocol.ChatHistoryRequest{ParticipantID: p})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range res.Messages {
			ids = append(ids, m.ID)
		}
		return ids
	}
	if got := hist("c"); !slices.Equal(got, []string{all.ID}) {
		t.Fatalf("c history %v", got)
	}
	if got := hist("b"); !slices.Equal(got, []string{all.ID, direct.ID}) {
		t.Fatalf("b history %v", got)
	}
	_, err := h.r.ChatReact(ctx, protocol.ChatRequest{ParticipantID: "c", ID: direct.ID, Reaction: "clap", Add: true})
	wantErr(t, err, msgMessageNotFound)
	if _, err := h.r.ChatReact(ctx, protocol.ChatRequest{ParticipantID: "b", ID: direct.ID, Reaction: "clap", Add: true}); err != nil {
		t.Fatal(err)
	}
	notes = h.notes.take()
	if len(chatEvents(t, notes, "c")) != 0 || len(chatEvents(t, notes, "a")) != 1 {
		t.Fatalf("react on a direct message reached %+v", notes)
	}
	late := h.join("d", "presenter", "portal-d")
	if late.Chat == nil || len(late.Chat.Messages) != 1 || late.Chat.Messages[0].ID != all.ID {
		t.Fatalf("late joiner history %+v", late.Chat)
	}
}

func TestChatModeratorDeletes(t *testing.T) {
	h, _ := chatHarness(t, ChatLimits{})
	h.join("a", "presenter", "p1")
	h.join("m", "host", "p1")
	h.join("v", "viewer", "p1")
	m1 := send(t, h, "a", "all", "one")
	ctx := context.Background()
	wantErr(t, h.r.ChatDelete(ctx, protocol.ChatRequest{ParticipantID: "v", ID: m1.ID}), msgCannotDelete)
	_, err := h.r.ChatEdit(ctx, protocol.ChatRequest{ParticipantID: "m", ID: m1.ID, Content: "x"})
	wantErr(t, err, msgNotYourMessage) // moderators delete, they do not edit
	wantErr(t, h.r.ChatDelete(ctx, protocol.ChatRequest{ParticipantID: "m", ID: m1.ID}), "")
	m2 := send(t, h, "a", "all", "two")
	wantErr(t, h.r.ChatDelete(ctx, protocol.ChatRequest{ID: m2.ID}), "") // the app server
}

func TestChatRetention(t *testing.T) {
	t.Run("count", func(t *testing.T) {
		h, fc := chatHarness(t, ChatLimits{MaxMessages: 3})
		h.join("a", "presenter", "p1")
		for _, c := range []string{"1", "2", "3", "4", "5"} {
			send(t, h, "a", "all", c)
		}
		if got := fc.contents(); !slices.Equal(got, []string{"3", "4", "5"}) {
			t.Fatalf("store keeps %v", got)
		}
		res, _ := h.r.ChatHistory(protocol.ChatHistoryRequest{ParticipantID: "a"})
		if len(res.Messages) != 3 || res.Messages[0].Content != "3" {
			t.Fatalf("history %+v", res.Messages)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		h, fc := chatHarness(t, ChatLimits{MaxBytes: 10})
		h.join("a", "presenter", "p1")
		for _, c := range []string{"aaaa", "bbbb", "cccc", "dd"} {
			send(t, h, "a", "all", c)
		}
		if got := fc.contents(); !slices.Equal(got, []string{"bbbb", "cccc", "dd"}) {
			t.Fatalf("store keeps %v", got)
		}
		last := send(t, h, "a", "all", "e")
		if _, err := h.r.ChatEdit(context.Background(), protocol.ChatRequest{ParticipantID: "a", ID: last.ID, Content: "eeeeeeee"}); err != nil {
			t.Fatal(err)
		}
		if got := fc.contents(); !slices.Equal(got, []string{"dd", "eeeeeeee"}) {
			t.Fatalf("after a growing edit the store keeps %v", got)
		}
	})
	t.Run("load", func(t *testing.T) {
		fc := &fakeChat{}
		for i, c := range []string{"1", "2", "3"} {
			fc.msgs = append(fc.msgs, store.ChatMessage{ID: "0000000" + string(rune('a'+i)), From: "x", To: "all", Content: c})
		}
		h := newHarnessDeps(t, nil, func(d *Deps) { d.Chat, d.ChatLimits = fc, ChatLimits{MaxMessages: 2} })
		if err := h.r.LoadChat(context.Background()); err != nil {
			t.Fatal(err)
		}
		res := h.join("a", "presenter", "p1")
		if len(res.Chat.Messages) != 2 || res.Chat.Messages[0].Content != "2" {
			t.Fatalf("loaded history %+v", res.Chat.Messages)
		}
		if got := fc.contents(); !slices.Equal(got, []string{"2", "3"}) {
			t.Fatalf("load left %v in the store", got)
		}
	})
}

func TestChatHistoryPages(t *testing.T) {
	h, _ := chatHarness(t, ChatLimits{})
	h.join("a", "presenter", "p1")
	var sent []protocol.ChatMessage
	for range 7 {
		sent = append(sent, send(t, h, "a", "all", "m"))
	}
	res, err := h.r.ChatHistory(protocol.ChatHistoryRequest{ParticipantID: "a", Before: sent[5].ID, Limit: 3})
	if err != nil || len(res.Messages) != 3 || res.Messages[0].ID != sent[2].ID || res.Messages[2].ID != sent[4].ID {
		t.Fatalf("page %+v %v", res.Messages, err)
	}
}

func TestChatTextStoredAndAnnounced(t *testing.T) {
	h, fc := chatHarness(t, ChatLimits{})
	h.join("a", "presenter", "p1")
	h.join("b", "presenter", "p2")
	h.notes.take()
	if err := h.r.Text(context.Background(), protocol.TextRequest{From: "a", To: "b", Message: "owt"}); err != nil {
		t.Fatal(err)
	}
	notes := h.notes.take()
	wantChat(t, notes, "a", protocol.ChatNew, nil)
	wantChat(t, notes, "b", protocol.ChatNew, func(msg map[string]any) {
		if msg["from"] != "a" || msg["to"] != "b" || msg["content"] != "owt" {
			t.Fatalf("chat new %v", msg)
		}
	})
	if got := fc.contents(); !slices.Equal(got, []string{"owt"}) {
		t.Fatalf("store %v", got)
	}
}

func TestChatStoreFailure(t *testing.T) {
	h, fc := chatHarness(t, ChatLimits{})
	h.join("a", "presenter", "p1")
	m := send(t, h, "a", "all", "kept")
	h.notes.take()
	fc.mu.Lock()
	fc.fail = errors.New("disk on fire")
	fc.mu.Unlock()
	ctx := context.Background()
	if _, err := h.r.ChatSend(ctx, protocol.ChatRequest{ParticipantID: "a", To: "all", Content: "lost"}); err == nil ||
		!strings.Contains(err.Error(), msgChatUnavailable) {
		t.Fatalf("send with a failing store: %v", err)
	}
	if _, err := h.r.ChatEdit(ctx, protocol.ChatRequest{ParticipantID: "a", ID: m.ID, Content: "x"}); err == nil {
		t.Fatal("edit with a failing store succeeded")
	}
	if err := h.r.ChatDelete(ctx, protocol.ChatRequest{ParticipantID: "a", ID: m.ID}); err == nil {
		t.Fatal("delete with a failing store succeeded")
	}
	if notes := h.notes.take(); len(notes) != 0 {
		t.Fatalf("failed changes were announced: %+v", notes)
	}
	res, _ := h.r.ChatHistory(protocol.ChatHistoryRequest{ParticipantID: "a"})
	if len(res.Messages) != 1 || res.Messages[0].Content != "kept" {
		t.Fatalf("history after failures %+v", res.Messages)
	}
}
