package client

import (
	"errors"
	"sync"
	"testing"

	"github.com/conclave-rtc/conclave/common/protocol"
)

func TestClientChat(t *testing.T) {
	fp := newFakePortal(t)
	var mu sync.Mutex
	var events []protocol.ChatEvent
	c, info := join(t, fp, Options{Events: Events{Chat: func(ev protocol.ChatEvent) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}}})
	if len(info.Chat) != 1 || info.Chat[0].ID != oldMessage.ID || info.Chat[0].Content != oldMessage.Content {
		t.Fatalf("login history %+v", info.Chat)
	}
	ctx := testCtx(t)
	m, err := c.ChatSend(ctx, "all", "hi")
	if err != nil || m.ID != "m1" || m.Content != "hi" || !fp.seen(`chat-send {"content":"hi","to":"all"}`) {
		t.Fatalf("ChatSend %+v %v", m, err)
	}
	waitFor(t, "chat event", func() bool { mu.Lock(); defer mu.Unlock(); return len(events) == 1 })
	if events[0].Action != protocol.ChatNew || events[0].Message.ID != "m1" {
		t.Fatalf("chat events %+v", events)
	}
	if m, err := c.ChatEdit(ctx, "m1", "hello"); err != nil || m.Edited != 3 || !fp.seen(`chat-edit {"content":"hello","id":"m1"}`) {
		t.Fatalf("ChatEdit %+v %v", m, err)
	}
	if m, err := c.ChatReact(ctx, "m1", "clap", true); err != nil || len(m.Reactions["clap"]) != 1 ||
		!fp.seen(`chat-react {"add":true,"id":"m1","reaction":"clap"}`) {
		t.Fatalf("ChatReact %+v %v", m, err)
	}
	if err := c.ChatDelete(ctx, "m1"); err != nil || !fp.seen(`chat-delete {"id":"m1"}`) {
		t.Fatalf("ChatDelete %v", err)
	}
	hist, err := c.ChatHistory(ctx, "m1", 10)
	if err != nil || len(hist) != 1 || !fp.seen(`chat-history {"before":"m1","limit":10}`) {
		t.Fatalf("ChatHistory %+v %v", hist, err)
	}
	fp.set(func() { fp.failEvent = "chat-edit" })
	var se *ServerError
	if _, err := c.ChatEdit(ctx, "m1", "x"); !errors.As(err, &se) || se.Message != "unauthorized" {
		t.Fatalf("refused edit: %v", err)
	}
}
