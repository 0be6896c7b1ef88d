package web

import (
	"context"
	"testing"
	"time"
)

// testOWTText runs web/test/owt-text.js: two plain socket.io-client sockets log in as the OWT
// JS SDK does and exchange an OWT `text`, unchanged by the chat extension (docs/chat.md).
func testOWTText(t *testing.T, srv server, _ string) {
	const room = "owt-text-room"
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	n := startNode(t, ctx, "owt-text.js", "PORTAL_URL="+srv.portal,
		"TOKEN_A="+devJoin(t, srv, room, "alice"), "TOKEN_B="+devJoin(t, srv, room, "bob"))
	res := n.wait(t)
	t.Logf("owt text: %d ms", res.MS)
}
