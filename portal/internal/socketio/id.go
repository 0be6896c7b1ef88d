package socketio

import (
	"crypto/rand"
	"encoding/base64"
)

// idBytes random bytes render as a 20-character base64url id, the shape of socket.io ids.
const idBytes = 15

// newID returns a 20-character URL-safe random identifier (120 bits of entropy) used for
// Engine.IO session ids and Socket.IO socket ids. crypto/rand never fails on supported
// platforms (it panics itself otherwise), so no error is returned.
func newID() string {
	b := make([]byte, idBytes)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
