// Package embedded is the store.Store of the all-in-one deployment: a bbolt database file
// under a data directory, durable across restarts, with no server to run.
//
// Every operation is one bbolt transaction, so multi-record changes (deleting a service with
// its rooms, consuming a token, taking over a lease) are atomic. bbolt allows one writer at a
// time and commits with fsync, which suits the control-plane write rates of one node.
//
// Layout (one bucket each): services (id → record), serviceNames (name → id, for uniqueness),
// rooms (id → record), serviceRooms (serviceID/roomID → nothing, for per-service listing in id
// order), roomPaths and poolRooms (room paths and the claimable rooms, see paths.go), tokens
// (id → record), keys (name → sealed key), leases (name → record), chat (a bucket per room,
// chat.go). Records are JSON. Times are kept to the millisecond, as in the MongoDB implementation.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/conclave-rtc/conclave/common/secret"
	"github.com/conclave-rtc/conclave/common/store"
)

// FileName is the database file Open uses inside its directory.
const FileName = "conclave.db"

// lockTimeout bounds the wait for the database file lock, so a second process opening the
// same directory fails quickly instead of hanging.
const lockTimeout = time.Second

var (
	bucketServices     = []byte("services")
	bucketServiceNames = []byte("serviceNames")
	bucketRooms        = []byte("rooms")
	bucketServiceRooms = []byte("serviceRooms")
	bucketRoomPaths    = []byte("roomPaths")
	bucketPoolRooms    = []byte("poolRooms")
	bucketTokens       = []byte("tokens")
	bucketKeys         = []byte("keys")
	bucketLeases       = []byte("leases")
)

var allBuckets = [][]byte{bucketServices, bucketServiceNames, bucketRooms, bucketServiceRooms,
	bucketRoomPaths, bucketPoolRooms, bucketTokens, bucketKeys, bucketLeases}

// ErrLocked is returned by Open when another process has the database open.
var ErrLocked = errors.New("embedded store: data directory in use")

// Store is the bbolt-backed store.Store. It is safe for concurrent use.
type Store struct {
	db     *bolt.DB
	box    *secret.Box
	nonces nonces // in memory: see nonces.go
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database in dir. box encrypts service keys and the
// token-signing key at rest; it must be made from the cluster key derived for
// secret.PurposeServiceKey, and be the same on every start.
func Open(dir string, box *secret.Box) (*Store, error) {
	if box == nil {
		return nil, errors.New("embedded store: nil box")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: data dir: %w", store.ErrUnavailable, err)
	}
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, bolt.ErrTimeout) { // the file lock is held
		return nil, fmt.Errorf("%w: %w: another process holds the data directory %s (is Conclave already running with it?)",
			store.ErrUnavailable, ErrLocked, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %w", store.ErrUnavailable, dir, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("%w: create buckets: %w", store.ErrUnavailable, err), db.Close())
	}
	return &Store{db: db, box: box, nonces: nonces{opened: time.Now().Truncate(time.Millisecond), seen: map[string]time.Time{}}}, nil
}

// Ping checks the database is open.
func (s *Store) Ping(ctx context.Context) error {
	return s.view(ctx, func(*bolt.Tx) error { return nil })
}

// Close closes the database file. ctx is unused: closing waits for running transactions.
func (s *Store) Close(context.Context) error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("%w: close: %w", store.ErrUnavailable, err)
	}
	return nil
}

// view runs fn in a read transaction.
func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return classify(s.db.View(fn))
}

// update runs fn in a write transaction; fn's error rolls it back.
func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return classify(s.db.Update(fn))
}

// classify passes the store's own errors through and wraps anything bbolt or the OS reported
// in store.ErrUnavailable.
func classify(err error) error {
	if err == nil {
		return nil
	}
	for _, known := range []error{store.ErrNotFound, store.ErrDuplicate, store.ErrLeaseHeld,
		store.ErrPathTaken, store.ErrUnavailable, ErrInvalidConfig} {
		if errors.Is(err, known) {
			return err
		}
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// corrupt reports a record that cannot be decoded.
func corrupt(what string, key []byte, err error) error {
	return fmt.Errorf("%w: corrupt %s record %q: %w", store.ErrUnavailable, what, key, err)
}

// toMillis and fromMillis keep times to the millisecond, in UTC.
func toMillis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
