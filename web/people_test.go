package web

import (
	"context"
	"testing"
	"time"
)

// testPeople runs web/test/people.js: a rename and a camera stop on one demo page reach the
// other page's tile, participant list and chat (docs/people.md).
func testPeople(t *testing.T, srv server, art string) {
	ctx, cancel := context.WithTimeout(context.Background(), 75*time.Second)
	defer cancel()
	n := startNode(t, ctx, "people.js", "PORTAL_URL="+srv.portal, "ROOM=people-room", envArtifacts+"="+art)
	res := n.wait(t)
	t.Logf("people: %d ms", res.MS)
}
