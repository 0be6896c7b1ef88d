package web

import (
	"context"
	"testing"
	"time"
)

// testChat runs web/test/chat.js: two demo pages use the chat panel (history at join,
// reactions, edit, delete, content shown as text) and the library's refusal of a foreign edit.
func testChat(t *testing.T, srv server, art string) {
	ctx, cancel := context.WithTimeout(context.Background(), 75*time.Second)
	defer cancel()
	n := startNode(t, ctx, "chat.js", "PORTAL_URL="+srv.portal, "ROOM=chat-room", envArtifacts+"="+art)
	res := n.wait(t)
	t.Logf("chat: %d ms", res.MS)
}
