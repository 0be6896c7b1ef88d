package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/conclave-rtc/conclave/common/store"
)

// Room paths and the room pool live in two index buckets kept in step with the room records
// inside each write transaction: roomPaths (serviceID/path → roomID) makes a path unique in its
// service, poolRooms (serviceID/roomID → nothing) lists the claimable rooms in id order. bbolt
// runs one write transaction at a time, so a claim (find the path, else take the first
// claimable room and give it the path) is atomic without further care.

func pathKey(serviceID, path string) []byte { return []byte(serviceID + "/" + path) }

// claimable reports whether ClaimRoom may give r a path.
func claimable(r store.Room) bool { return r.Pool && r.Path == "" }

// GetRoomByPath returns the service's room with that path.
func (s *Store) GetRoomByPath(ctx context.Context, serviceID, path string) (store.Room, error) {
	var r store.Room
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		r, err = roomByPath(tx, serviceID, path)
		return err
	})
	return r, err
}

// ClaimRoom returns the service's room with that path, or gives the path to the oldest
// claimable room of the service; ErrNotFound when there is none.
func (s *Store) ClaimRoom(ctx context.Context, serviceID, path string) (store.Room, error) {
	if path == "" {
		return store.Room{}, store.ErrEmptyPath
	}
	var r store.Room
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		r, err = roomByPath(tx, serviceID, path)
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		prefix := roomIndexPrefix(serviceID)
		k, _ := tx.Bucket(bucketPoolRooms).Cursor().Seek(prefix)
		if k == nil || !bytes.HasPrefix(k, prefix) {
			return fmt.Errorf("%w: no claimable room in service %s", store.ErrNotFound, serviceID)
		}
		old, err := getRoom(tx, serviceID, string(k[len(prefix):]))
		if err != nil {
			return corrupt("pool index", k, err)
		}
		r = old
		r.Path = path
		return rewriteRoom(tx, old, r)
	})
	if err != nil {
		return store.Room{}, err
	}
	return r, nil
}

// ReleaseRoom removes the room's path and makes it claimable.
func (s *Store) ReleaseRoom(ctx context.Context, serviceID, roomID string) (store.Room, error) {
	var r store.Room
	err := s.update(ctx, func(tx *bolt.Tx) error {
		old, err := getRoom(tx, serviceID, roomID)
		if err != nil {
			return err
		}
		r = old
		r.Path, r.Pool = "", true
		return rewriteRoom(tx, old, r)
	})
	if err != nil {
		return store.Room{}, err
	}
	return r, nil
}

// roomByPath reads the service's room with that path.
func roomByPath(tx *bolt.Tx, serviceID, path string) (store.Room, error) {
	key := pathKey(serviceID, path)
	id := tx.Bucket(bucketRoomPaths).Get(key)
	if path == "" || id == nil {
		return store.Room{}, fmt.Errorf("%w: room path %q in service %s", store.ErrNotFound, path, serviceID)
	}
	r, err := getRoom(tx, serviceID, string(id))
	if errors.Is(err, store.ErrNotFound) {
		return store.Room{}, corrupt("room path", key, err)
	}
	return r, err
}

// rewriteRoom stores r in place of old (same room).
func rewriteRoom(tx *bolt.Tx, old, r store.Room) error {
	rec, err := encodeRoom(r)
	if err != nil {
		return err
	}
	return putRoom(tx, &old, r, rec)
}

// putRoom writes the record rec of r, which replaces old (nil: a new room), with its index
// entries.
func putRoom(tx *bolt.Tx, old *store.Room, r store.Room, rec []byte) error {
	if err := indexRoom(tx, old, r); err != nil {
		return err
	}
	return tx.Bucket(bucketRooms).Put([]byte(r.ID), rec)
}

// indexRoom moves a room's path and pool entries from what old had (nil: nothing) to what r
// has; ErrPathTaken, before any change, if another room of the service has r.Path.
func indexRoom(tx *bolt.Tx, old *store.Room, r store.Room) error {
	var was store.Room
	if old != nil {
		was = *old
	}
	paths := tx.Bucket(bucketRoomPaths)
	if r.Path != "" && r.Path != was.Path {
		if holder := paths.Get(pathKey(r.ServiceID, r.Path)); holder != nil && string(holder) != r.ID {
			return fmt.Errorf("%w: %q in service %s", store.ErrPathTaken, r.Path, r.ServiceID)
		}
	}
	if was.Path != "" && was.Path != r.Path {
		if err := paths.Delete(pathKey(was.ServiceID, was.Path)); err != nil {
			return err
		}
	}
	if r.Path != "" {
		if err := paths.Put(pathKey(r.ServiceID, r.Path), []byte(r.ID)); err != nil {
			return err
		}
	}
	pool := tx.Bucket(bucketPoolRooms)
	if claimable(r) {
		return pool.Put(roomIndexKey(r.ServiceID, r.ID), nil)
	}
	return pool.Delete(roomIndexKey(r.ServiceID, r.ID))
}
