package web

import (
	"testing"
	"time"
)

// testPeople runs web/test/people.js: a rename and a camera stop on one demo page reach the
// other page's tile, participant list and chat (docs/people.md).
func testPeople(t *testing.T, srv server, art string) {
	runPagesScript(t, srv, art, "people.js", "people-room", 75*time.Second)
}
