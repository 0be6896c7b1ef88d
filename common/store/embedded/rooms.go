package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/conclave-rtc/conclave/common/store"
)

// roomRecord is the stored form of a room. Field order matters: fastRoomRecord reads the
// encoding of exactly this order.
type roomRecord struct {
	Service string          `json:"service"`
	Path    string          `json:"path,omitempty"`
	Pool    bool            `json:"pool,omitempty"`
	Config  json.RawMessage `json:"config"`
}

func (rec roomRecord) room(id string) store.Room {
	return store.Room{ID: id, ServiceID: rec.Service, Config: rec.Config, Path: rec.Path, Pool: rec.Pool}
}

func roomIndexPrefix(serviceID string) []byte { return []byte(serviceID + "/") }

func roomIndexKey(serviceID, roomID string) []byte { return []byte(serviceID + "/" + roomID) }

// encodeRoom validates that r.Config is a JSON object and returns the stored record.
func encodeRoom(r store.Room) ([]byte, error) {
	trimmed := bytes.TrimLeft(r.Config, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, fmt.Errorf("room %s: %w", r.ID, ErrInvalidConfig)
	}
	rec, err := json.Marshal(roomRecord{Service: r.ServiceID, Path: r.Path, Pool: r.Pool, Config: r.Config})
	if err != nil {
		return nil, fmt.Errorf("room %s: %w: %w", r.ID, ErrInvalidConfig, err)
	}
	return rec, nil
}

// decodeRoomRecord reads the record encodeRoom wrote without scanning the configuration again
// (it was validated and compacted when written): room lists read many. Any other form goes
// through encoding/json.
func decodeRoomRecord(raw []byte) (roomRecord, error) {
	if rec, ok := fastRoomRecord(raw); ok {
		return rec, nil
	}
	var rec roomRecord
	err := json.Unmarshal(raw, &rec)
	return rec, err
}

// fastRoomRecord reads {"service":"<id>"[,"path":"<path>"][,"pool":true],"config":{…}} whose
// strings have no escapes; ok is false for anything else.
func fastRoomRecord(raw []byte) (rec roomRecord, ok bool) {
	rest, ok := bytes.CutPrefix(raw, []byte(`{"service":`))
	if !ok || raw[len(raw)-1] != '}' {
		return rec, false
	}
	if rec.Service, rest, ok = cutPlainString(rest); !ok {
		return rec, false
	}
	if after, found := bytes.CutPrefix(rest, []byte(`,"path":`)); found {
		if rec.Path, rest, ok = cutPlainString(after); !ok {
			return rec, false
		}
	}
	if after, found := bytes.CutPrefix(rest, []byte(`,"pool":true`)); found {
		rec.Pool, rest = true, after
	}
	cfg, ok := bytes.CutPrefix(rest, []byte(`,"config":`))
	if !ok {
		return rec, false
	}
	cfg = cfg[:len(cfg)-1] // the record's closing brace
	if len(cfg) < 2 || cfg[0] != '{' || cfg[len(cfg)-1] != '}' {
		return rec, false
	}
	rec.Config = cfg
	return rec, true
}

// cutPlainString reads the JSON string at the start of b when it has no escape sequences.
func cutPlainString(b []byte) (string, []byte, bool) {
	if len(b) == 0 || b[0] != '"' {
		return "", nil, false
	}
	end := bytes.IndexByte(b[1:], '"')
	if end < 0 || bytes.IndexByte(b[1:1+end], '\\') >= 0 {
		return "", nil, false
	}
	return string(b[1 : 1+end]), b[2+end:], true
}

// CreateRoom inserts r; ErrNotFound if its service does not exist, ErrDuplicate if its id
// does, ErrPathTaken if another room of the service has its path.
func (s *Store) CreateRoom(ctx context.Context, r store.Room) error {
	rec, err := encodeRoom(r)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketServices).Get([]byte(r.ServiceID)) == nil {
			return fmt.Errorf("%w: service %s", store.ErrNotFound, r.ServiceID)
		}
		if tx.Bucket(bucketRooms).Get([]byte(r.ID)) != nil {
			return fmt.Errorf("%w: room %s", store.ErrDuplicate, r.ID)
		}
		if err := putRoom(tx, nil, r, rec); err != nil {
			return err
		}
		return tx.Bucket(bucketServiceRooms).Put(roomIndexKey(r.ServiceID, r.ID), nil)
	})
}

// GetRoom returns the service's room; a room of another service is ErrNotFound.
func (s *Store) GetRoom(ctx context.Context, serviceID, roomID string) (store.Room, error) {
	var r store.Room
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		r, err = getRoom(tx, serviceID, roomID)
		return err
	})
	return r, err
}

// GetRoomByID returns the room whatever its service.
func (s *Store) GetRoomByID(ctx context.Context, roomID string) (store.Room, error) {
	var r store.Room
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		r, err = getRoom(tx, "", roomID)
		return err
	})
	return r, err
}

// ListRooms returns the service's rooms in id order, after skip, at most limit (<= 0: all).
func (s *Store) ListRooms(ctx context.Context, serviceID string, skip, limit int) ([]store.Room, error) {
	list := []store.Room{}
	err := s.VisitRooms(ctx, serviceID, skip, limit, func(r store.Room) error {
		// Copy: the config points into the memory map, valid only inside the transaction.
		r.Config = append(json.RawMessage(nil), r.Config...)
		list = append(list, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// VisitRooms implements store.RoomVisitor: fn sees each room's stored configuration in place.
func (s *Store) VisitRooms(ctx context.Context, serviceID string, skip, limit int, fn func(r store.Room) error) error {
	return s.view(ctx, func(tx *bolt.Tx) error {
		prefix := roomIndexPrefix(serviceID)
		rooms := tx.Bucket(bucketRooms)
		c := tx.Bucket(bucketServiceRooms).Cursor()
		n := 0
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if limit > 0 && n == limit {
				break
			}
			if skip > 0 {
				skip--
				continue
			}
			id := k[len(prefix):]
			raw := rooms.Get(id)
			if raw == nil {
				return corrupt("room index", k, errors.New("room missing"))
			}
			rec, err := decodeRoomRecord(raw)
			if err != nil {
				return corrupt("room", id, err)
			}
			if rec.Service != serviceID {
				return corrupt("room index", k, fmt.Errorf("room of service %s", rec.Service))
			}
			if err := fn(rec.room(string(id))); err != nil {
				return err
			}
			n++
		}
		return nil
	})
}

// UpdateRoom replaces the config, path and pool flag of the service's existing room.
func (s *Store) UpdateRoom(ctx context.Context, r store.Room) error {
	rec, err := encodeRoom(r)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		old, err := getRoom(tx, r.ServiceID, r.ID)
		if err != nil {
			return err
		}
		return putRoom(tx, &old, r, rec)
	})
}

// DeleteRoom removes the service's room, freeing its path.
func (s *Store) DeleteRoom(ctx context.Context, serviceID, roomID string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		r, err := getRoom(tx, serviceID, roomID)
		if err != nil {
			return err
		}
		return deleteRoom(tx, r)
	})
}

// getRoom reads a room; a non-empty serviceID must match the room's service.
func getRoom(tx *bolt.Tx, serviceID, roomID string) (store.Room, error) {
	raw := tx.Bucket(bucketRooms).Get([]byte(roomID))
	if raw == nil {
		return store.Room{}, fmt.Errorf("%w: room %s", store.ErrNotFound, roomID)
	}
	rec, err := decodeRoomRecord(raw)
	if err != nil {
		return store.Room{}, corrupt("room", []byte(roomID), err)
	}
	if serviceID != "" && rec.Service != serviceID {
		return store.Room{}, fmt.Errorf("%w: room %s in service %s", store.ErrNotFound, roomID, serviceID)
	}
	// Copy: raw points into the memory map, valid only inside the transaction.
	rec.Config = append(json.RawMessage(nil), rec.Config...)
	return rec.room(roomID), nil
}

// deleteRoom removes a room with its index entries.
func deleteRoom(tx *bolt.Tx, r store.Room) error {
	if err := tx.Bucket(bucketRooms).Delete([]byte(r.ID)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketServiceRooms).Delete(roomIndexKey(r.ServiceID, r.ID)); err != nil {
		return err
	}
	if err := deleteRoomChat(tx, r.ID); err != nil {
		return err
	}
	return indexRoom(tx, &r, store.Room{ID: r.ID, ServiceID: r.ServiceID})
}
