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

// roomRecord is the stored form of a room.
type roomRecord struct {
	Service string          `json:"service"`
	Config  json.RawMessage `json:"config"`
}

func roomIndexPrefix(serviceID string) []byte { return []byte(serviceID + "/") }

func roomIndexKey(serviceID, roomID string) []byte { return []byte(serviceID + "/" + roomID) }

// encodeRoom validates that r.Config is a JSON object and returns the stored record.
func encodeRoom(r store.Room) ([]byte, error) {
	trimmed := bytes.TrimLeft(r.Config, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, fmt.Errorf("room %s: %w", r.ID, ErrInvalidConfig)
	}
	rec, err := json.Marshal(roomRecord{Service: r.ServiceID, Config: r.Config})
	if err != nil {
		return nil, fmt.Errorf("room %s: %w: %w", r.ID, ErrInvalidConfig, err)
	}
	return rec, nil
}

// decodeRoomRecord reads the record encodeRoom wrote, {"service":"<id>","config":<object>},
// without scanning the configuration again (it was validated and compacted when written):
// room lists read many. Any other form goes through encoding/json.
func decodeRoomRecord(raw []byte) (roomRecord, error) {
	const head, mid = `{"service":"`, `","config":{`
	if rest, ok := bytes.CutPrefix(raw, []byte(head)); ok && len(raw) > 0 && raw[len(raw)-1] == '}' {
		if i := bytes.IndexByte(rest, '"'); i >= 0 && bytes.IndexByte(rest[:i], '\\') < 0 && bytes.HasPrefix(rest[i:], []byte(mid)) {
			cfg := rest[i+len(mid)-1 : len(rest)-1]
			if len(cfg) >= 2 && cfg[len(cfg)-1] == '}' {
				return roomRecord{Service: string(rest[:i]), Config: cfg}, nil
			}
		}
	}
	var rec roomRecord
	err := json.Unmarshal(raw, &rec)
	return rec, err
}

// CreateRoom inserts r; ErrNotFound if its service does not exist, ErrDuplicate if its id does.
func (s *Store) CreateRoom(ctx context.Context, r store.Room) error {
	rec, err := encodeRoom(r)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketServices).Get([]byte(r.ServiceID)) == nil {
			return fmt.Errorf("%w: service %s", store.ErrNotFound, r.ServiceID)
		}
		rooms := tx.Bucket(bucketRooms)
		if rooms.Get([]byte(r.ID)) != nil {
			return fmt.Errorf("%w: room %s", store.ErrDuplicate, r.ID)
		}
		if err := rooms.Put([]byte(r.ID), rec); err != nil {
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
	err := s.VisitRooms(ctx, serviceID, skip, limit, func(id string, config []byte) error {
		// Copy: config points into the memory map, valid only inside the transaction.
		list = append(list, store.Room{ID: id, ServiceID: serviceID, Config: append(json.RawMessage(nil), config...)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// VisitRooms implements store.RoomVisitor: fn sees each room's stored configuration in place.
func (s *Store) VisitRooms(ctx context.Context, serviceID string, skip, limit int, fn func(id string, config []byte) error) error {
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
			if err := fn(string(id), rec.Config); err != nil {
				return err
			}
			n++
		}
		return nil
	})
}

// UpdateRoom replaces the config of the service's existing room.
func (s *Store) UpdateRoom(ctx context.Context, r store.Room) error {
	rec, err := encodeRoom(r)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		if _, err := getRoom(tx, r.ServiceID, r.ID); err != nil {
			return err
		}
		return tx.Bucket(bucketRooms).Put([]byte(r.ID), rec)
	})
}

// DeleteRoom removes the service's room.
func (s *Store) DeleteRoom(ctx context.Context, serviceID, roomID string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		if _, err := getRoom(tx, serviceID, roomID); err != nil {
			return err
		}
		return deleteRoom(tx, serviceID, roomID)
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
	cfg := append(json.RawMessage(nil), rec.Config...)
	return store.Room{ID: roomID, ServiceID: rec.Service, Config: cfg}, nil
}

func deleteRoom(tx *bolt.Tx, serviceID, roomID string) error {
	if err := tx.Bucket(bucketRooms).Delete([]byte(roomID)); err != nil {
		return err
	}
	return tx.Bucket(bucketServiceRooms).Delete(roomIndexKey(serviceID, roomID))
}
