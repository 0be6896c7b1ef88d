package embedded

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/conclave-rtc/conclave/common/store"
)

// bucketStreamKeys holds stream keys (id → record); a room has a handful at most, so a list
// scans the bucket.
var bucketStreamKeys = []byte("streamKeys")

// streamKeyRecord is a stored stream key.
type streamKeyRecord struct {
	Service string `json:"service"`
	Room    string `json:"room"`
	User    string `json:"user"`
	Role    string `json:"role"`
	Hash    string `json:"hash"`
	Created int64  `json:"created"` // Unix milliseconds
}

func (r streamKeyRecord) key(id string) store.StreamKey {
	return store.StreamKey{ID: id, ServiceID: r.Service, RoomID: r.Room, User: r.User, Role: r.Role,
		Hash: r.Hash, Created: fromMillis(r.Created)}
}

// CreateStreamKey stores k; ErrDuplicate if its id exists.
func (s *Store) CreateStreamKey(ctx context.Context, k store.StreamKey) error {
	rec, err := json.Marshal(streamKeyRecord{Service: k.ServiceID, Room: k.RoomID, User: k.User,
		Role: k.Role, Hash: k.Hash, Created: toMillis(k.Created)})
	if err != nil {
		return fmt.Errorf("encode stream key: %w", err)
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketStreamKeys)
		if err != nil {
			return err
		}
		if b.Get([]byte(k.ID)) != nil {
			return fmt.Errorf("%w: stream key %s", store.ErrDuplicate, k.ID)
		}
		return b.Put([]byte(k.ID), rec)
	})
}

// GetStreamKey returns the key with id; ErrNotFound if absent.
func (s *Store) GetStreamKey(ctx context.Context, id string) (store.StreamKey, error) {
	var out store.StreamKey
	err := s.view(ctx, func(tx *bolt.Tx) error {
		rec, err := getStreamKey(tx, id)
		out = rec.key(id)
		return err
	})
	return out, err
}

func getStreamKey(tx *bolt.Tx, id string) (streamKeyRecord, error) {
	var rec streamKeyRecord
	b := tx.Bucket(bucketStreamKeys)
	var raw []byte
	if b != nil {
		raw = b.Get([]byte(id))
	}
	if raw == nil {
		return rec, fmt.Errorf("%w: stream key %s", store.ErrNotFound, id)
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return rec, corrupt("stream key", []byte(id), err)
	}
	return rec, nil
}

// ListStreamKeys returns the room's keys sorted by id (bbolt keeps keys sorted).
func (s *Store) ListStreamKeys(ctx context.Context, serviceID, roomID string) ([]store.StreamKey, error) {
	out := []store.StreamKey{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketStreamKeys)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var rec streamKeyRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return corrupt("stream key", k, err)
			}
			if rec.Service == serviceID && rec.Room == roomID {
				out = append(out, rec.key(string(k)))
			}
			return nil
		})
	})
	return out, err
}

// DeleteStreamKey removes a key of the room; ErrNotFound if absent or of another room.
func (s *Store) DeleteStreamKey(ctx context.Context, serviceID, roomID, id string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		rec, err := getStreamKey(tx, id)
		if err != nil {
			return err
		}
		if rec.Service != serviceID || rec.Room != roomID {
			return fmt.Errorf("%w: stream key %s", store.ErrNotFound, id)
		}
		return tx.Bucket(bucketStreamKeys).Delete([]byte(id))
	})
}
