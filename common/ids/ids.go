// Package ids makes identifiers in the formats OWT clients expect.
package ids

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"
	"time"
)

// counter starts at a random value and processRandom is fixed for the process, as in
// MongoDB: ids made by one process sort by creation order even within one second, and ids of
// different processes still differ.
var (
	counter       = randomCounter()
	processRandom = randomBytes5()
)

func randomBytes5() [5]byte {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return b
}

func randomCounter() *atomic.Uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	c := new(atomic.Uint32)
	c.Store(binary.BigEndian.Uint32(b[:]))
	return c
}

// ObjectID returns a new 24-hex-character identifier laid out like a MongoDB ObjectId
// (4-byte seconds, 5 random bytes, 3-byte counter), so that ids sort by creation time as
// OWT's room and token ids do.
func ObjectID() string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[0:4], uint32(time.Now().Unix()))
	copy(b[4:9], processRandom[:])
	c := counter.Add(1)
	b[9], b[10], b[11] = byte(c>>16), byte(c>>8), byte(c)
	return hex.EncodeToString(b[:])
}

// IsObjectID reports whether s is 24 lower- or upper-case hex characters.
func IsObjectID(s string) bool {
	if len(s) != 24 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// UUIDHex returns a random version-4 UUID as 32 hex characters without dashes, the form OWT
// uses for publication and subscription ids.
func UUIDHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

// RandomHex returns n random bytes as 2n hex characters.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
