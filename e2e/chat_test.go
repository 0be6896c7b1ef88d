package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
)

// chatServer starts the all-in-one on fixed ports and data directory, so a second start is
// the same deployment after a restart.
type chatServer struct {
	env  []string
	base string
	host string
	api  e2eutil.RESTClient
}

func newChatServer(t *testing.T) *chatServer {
	mport, pport := e2eutil.FreePort(t), e2eutil.FreePort(t)
	host := fmt.Sprintf("127.0.0.1:%d", pport)
	superID, superKey := ids.ObjectID(), ids.RandomHex(32)
	s := &chatServer{host: host, base: fmt.Sprintf("http://127.0.0.1:%d", mport), env: []string{
		"CONCLAVE_CONFIG=" + e2eutil.WriteConfig(t, e2eutil.LoopbackWebRTCConfig),
		"CONCLAVE_DATA_DIR=" + t.TempDir(),
		fmt.Sprintf("CONCLAVE_MANAGEMENT_LISTEN=127.0.0.1:%d", mport),
		"CONCLAVE_PORTAL_LISTEN=" + host, "CONCLAVE_PORTAL_PUBLIC_HOST=" + host,
		"CONCLAVE_BUS_URL=", "CONCLAVE_MONGO_URI=", "CONCLAVE_CLUSTER_KEY=",
		"CONCLAVE_SUPER_SERVICE_ID=" + superID, "CONCLAVE_SUPER_SERVICE_KEY=" + superKey,
	}}
	s.api = e2eutil.RESTClient{Base: s.base, ServiceID: superID, Key: superKey}
	return s
}

func (s *chatServer) start(t *testing.T) *e2eutil.Proc {
	t.Helper()
	p := e2eutil.Start(t, bins.Path(t, "conclave"), nil, s.env...)
	e2eutil.WaitHTTP(t, s.base+"/healthz", 30*time.Second, p)
	e2eutil.WaitHTTP(t, "http://"+s.host+"/healthz", 30*time.Second, p)
	return p
}

// chatJoin joins roomID as user with its events recorded.
func chatJoin(ctx context.Context, t *testing.T, s *chatServer, roomID, user string) (*rtc.Client, *rtc.JoinInfo, *participant.Recorder) {
	t.Helper()
	ev := participant.NewRecorder()
	opts := loopbackClient
	opts.Events = ev.Events()
	c, info := participant.JoinReady(ctx, t, func() string { return s.api.MustToken(t, roomID, user, "presenter", "") }, opts)
	return c, info, ev
}

// chatIs matches the `chat` event of action on message id; check, when set, tests the message.
func chatIs(action, id string, check func(protocol.ChatMessage) bool) func(any) bool {
	return func(v any) bool {
		ev, ok := v.(protocol.ChatEvent)
		return ok && ev.Action == action && ev.Message.ID == id && (check == nil || check(ev.Message))
	}
}

func messageIDs(msgs []protocol.ChatMessage) []string {
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return out
}

// wantRefused checks a chat request failed with the server's message.
func wantRefused(t *testing.T, what string, err error, msg string) {
	t.Helper()
	var se *rtc.ServerError
	if !errors.As(err, &se) || se.Message != msg {
		t.Fatalf("%s: error %v, want the server's %q", what, err, msg)
	}
}

// TestE2EChat drives the chat extension through the all-in-one binary with two Go clients:
// send (also seen as OWT text), direct messages, the REST API, refused edits and deletes,
// edit, reaction, delete, the history of a late joiner and of a joiner after a restart.
func TestE2EChat(t *testing.T) {
	srv := newChatServer(t)
	proc := srv.start(t)
	roomID := srv.api.CreateRoom(t, "chat")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	a, infoA, evA := chatJoin(ctx, t, srv, roomID, "alice")
	b, _, evB := chatJoin(ctx, t, srv, roomID, "bob")

	m1, err := a.ChatSend(ctx, "all", "hello <b>all</b>")
	if err != nil {
		t.Fatalf("chat-send: %v", err)
	}
	evB.Wait(ctx, t, "chat new m1", chatIs(protocol.ChatNew, m1.ID, func(m protocol.ChatMessage) bool {
		return m.From == infoA.ID && m.Content == "hello <b>all</b>"
	}))
	evB.Wait(ctx, t, "OWT text of m1", func(v any) bool {
		return v == protocol.TextEvent{From: infoA.ID, To: "all", Message: "hello <b>all</b>"}
	})
	m2, err := b.ChatSend(ctx, infoA.ID, "psst")
	if err != nil {
		t.Fatalf("direct chat-send: %v", err)
	}
	evA.Wait(ctx, t, "direct chat m2", chatIs(protocol.ChatNew, m2.ID, nil))
	var m3 protocol.ChatMessage
	e2eutil.Must(t, srv.api.Do(t, "POST", "/v1/rooms/"+roomID+"/messages",
		map[string]string{"to": "all", "content": "from the app"}), http.StatusOK).Decode(t, &m3)
	evA.Wait(ctx, t, "REST message m3", chatIs(protocol.ChatNew, m3.ID, func(m protocol.ChatMessage) bool {
		return m.From == protocol.ChatService
	}))

	_, err = b.ChatEdit(ctx, m1.ID, "hijacked")
	wantRefused(t, "bob edits alice's message", err, "Only the sender may edit a message")
	wantRefused(t, "bob deletes alice's message", b.ChatDelete(ctx, m1.ID), "Only the sender or a moderator may delete a message")
	if _, err := a.ChatEdit(ctx, m1.ID, "hello, edited"); err != nil {
		t.Fatalf("chat-edit: %v", err)
	}
	evB.Wait(ctx, t, "edit of m1", chatIs(protocol.ChatEdit, m1.ID, func(m protocol.ChatMessage) bool {
		return m.Content == "hello, edited" && m.Edited != 0
	}))
	if _, err := b.ChatReact(ctx, m1.ID, "clap", true); err != nil {
		t.Fatalf("chat-react: %v", err)
	}
	evA.Wait(ctx, t, "reaction on m1", chatIs(protocol.ChatReact, m1.ID, func(m protocol.ChatMessage) bool {
		return slices.Equal(m.Reactions["clap"], []string{b.ID()})
	}))
	m4, err := a.ChatSend(ctx, "all", "oops")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ChatDelete(ctx, m4.ID); err != nil {
		t.Fatalf("chat-delete: %v", err)
	}
	evB.Wait(ctx, t, "delete of m4", chatIs(protocol.ChatDelete, m4.ID, func(m protocol.ChatMessage) bool {
		return m.Deleted && m.Content == ""
	}))

	_, infoC, _ := chatJoin(ctx, t, srv, roomID, "carol")
	if got := messageIDs(infoC.Chat); !slices.Equal(got, []string{m1.ID, m3.ID}) {
		t.Fatalf("late joiner's history %v, want [m1 m3] (no direct message, no deleted one)", got)
	}
	if got := infoC.Chat[0]; got.Content != "hello, edited" || got.Reactions["clap"] == nil {
		t.Fatalf("late joiner sees m1 as %+v", got)
	}
	hist, err := b.ChatHistory(ctx, "", 0)
	if err != nil || !slices.Equal(messageIDs(hist), []string{m1.ID, m2.ID, m3.ID}) {
		t.Fatalf("bob's history %v %v", messageIDs(hist), err)
	}
	var rest []protocol.ChatMessage
	e2eutil.Must(t, srv.api.Do(t, "GET", "/v1/rooms/"+roomID+"/messages?limit=2", nil), http.StatusOK).Decode(t, &rest)
	if !slices.Equal(messageIDs(rest), []string{m2.ID, m3.ID}) {
		t.Fatalf("REST history %v", messageIDs(rest))
	}

	// A restart of the whole deployment (conference agent included) keeps the history.
	if err := proc.Stop(20 * time.Second); err != nil {
		t.Logf("stop: %v", err)
	}
	srv.start(t)
	_, infoD, _ := chatJoin(ctx, t, srv, roomID, "dave")
	if got := messageIDs(infoD.Chat); !slices.Equal(got, []string{m1.ID, m3.ID}) {
		t.Fatalf("history after the restart %v, want [m1 m3]", got)
	}
	if got := infoD.Chat[0]; got.Content != "hello, edited" || !slices.Equal(got.Reactions["clap"], []string{b.ID()}) {
		t.Fatalf("m1 after the restart %+v", got)
	}
}
