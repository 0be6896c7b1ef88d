package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/conclave-rtc/conclave/common/store"
)

// serviceRecord is the stored form of a service; Key is sealed with the service id as
// additional data, so a ciphertext copied onto another service does not open.
type serviceRecord struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

func serviceAD(id string) []byte { return []byte("service/" + id) }

// CreateService inserts s; ErrDuplicate if its id or name exists.
func (s *Store) CreateService(ctx context.Context, svc store.Service) error {
	sealed, err := s.box.Seal([]byte(svc.Key), serviceAD(svc.ID))
	if err != nil {
		return fmt.Errorf("%w: seal service key: %w", store.ErrUnavailable, err)
	}
	rec, err := json.Marshal(serviceRecord{Name: svc.Name, Key: sealed})
	if err != nil {
		return fmt.Errorf("encode service: %w", err)
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		services, names := tx.Bucket(bucketServices), tx.Bucket(bucketServiceNames)
		if services.Get([]byte(svc.ID)) != nil {
			return fmt.Errorf("%w: service id %s", store.ErrDuplicate, svc.ID)
		}
		if names.Get([]byte(svc.Name)) != nil {
			return fmt.Errorf("%w: service name %q", store.ErrDuplicate, svc.Name)
		}
		if err := services.Put([]byte(svc.ID), rec); err != nil {
			return err
		}
		return names.Put([]byte(svc.Name), []byte(svc.ID))
	})
}

// GetService returns the service with its plaintext key and room ids.
func (s *Store) GetService(ctx context.Context, id string) (store.Service, error) {
	var svc store.Service
	err := s.view(ctx, func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketServices).Get([]byte(id))
		if raw == nil {
			return fmt.Errorf("%w: service %s", store.ErrNotFound, id)
		}
		var err error
		svc, err = s.decodeService(tx, []byte(id), raw)
		return err
	})
	return svc, err
}

// ListServices returns every service sorted by id.
func (s *Store) ListServices(ctx context.Context) ([]store.Service, error) {
	list := []store.Service{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketServices).ForEach(func(id, raw []byte) error {
			svc, err := s.decodeService(tx, id, raw)
			list = append(list, svc)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// DeleteService removes the service, its name and all its rooms in one transaction.
func (s *Store) DeleteService(ctx context.Context, id string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		services := tx.Bucket(bucketServices)
		raw := services.Get([]byte(id))
		if raw == nil {
			return fmt.Errorf("%w: service %s", store.ErrNotFound, id)
		}
		var rec serviceRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			return corrupt("service", []byte(id), err)
		}
		for _, roomID := range roomIDs(tx, id) {
			r, err := getRoom(tx, id, roomID)
			if err != nil {
				return err
			}
			if err := deleteRoom(tx, r); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketServiceNames).Delete([]byte(rec.Name)); err != nil {
			return err
		}
		return services.Delete([]byte(id))
	})
}

func (s *Store) decodeService(tx *bolt.Tx, id, raw []byte) (store.Service, error) {
	var rec serviceRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return store.Service{}, corrupt("service", id, err)
	}
	key, err := s.box.Open(rec.Key, serviceAD(string(id)))
	if err != nil {
		return store.Service{}, fmt.Errorf("%w: service %s key (wrong cluster key?): %w",
			store.ErrUnavailable, id, err)
	}
	return store.Service{ID: string(id), Name: rec.Name, Key: string(key),
		Rooms: roomIDs(tx, string(id))}, nil
}

// roomIDs lists the service's room ids in id order from the serviceRooms index.
func roomIDs(tx *bolt.Tx, serviceID string) []string {
	ids := []string{}
	prefix := roomIndexPrefix(serviceID)
	c := tx.Bucket(bucketServiceRooms).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ids = append(ids, string(k[len(prefix):]))
	}
	return ids
}
