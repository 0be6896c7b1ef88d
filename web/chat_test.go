package web

import (
	"testing"
	"time"
)

// testChat runs web/test/chat.js: two demo pages use the chat panel (history at join,
// reactions, edit, delete, content shown as text) and the library's refusal of a foreign edit.
func testChat(t *testing.T, srv server, art string) {
	runPagesScript(t, srv, art, "chat.js", "chat-room", 75*time.Second)
}
