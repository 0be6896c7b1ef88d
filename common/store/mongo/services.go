package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/conclave-rtc/conclave/common/store"
)

// serviceDoc is the stored service. Key is sealed with the service id as additional data, so
// a ciphertext copied onto another service does not open.
type serviceDoc struct {
	ID        string `bson:"_id"`
	Name      string `bson:"name"`
	Key       string `bson:"key"`
	Encrypted bool   `bson:"encrypted"`
}

func serviceAD(id string) []byte { return []byte("service/" + id) }

// CreateService inserts svc; ErrDuplicate if its id or name exists (unique _id and name
// index).
func (s *Store) CreateService(ctx context.Context, svc store.Service) error {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	sealed, err := s.box.Seal([]byte(svc.Key), serviceAD(svc.ID))
	if err != nil {
		return fmt.Errorf("%w: seal service key: %w", store.ErrUnavailable, err)
	}
	doc := serviceDoc{ID: svc.ID, Name: svc.Name, Key: sealed, Encrypted: true}
	if _, err := s.services.InsertOne(ctx, doc); err != nil {
		return s.fail(ctx, "insert service "+svc.ID, err)
	}
	return nil
}

// GetService returns the service with its plaintext key and room ids.
func (s *Store) GetService(ctx context.Context, id string) (store.Service, error) {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return store.Service{}, err
	}
	var doc serviceDoc
	if err := s.services.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
		return store.Service{}, s.fail(ctx, "service "+id, err)
	}
	svc, err := s.decodeService(doc)
	if err != nil {
		return store.Service{}, err
	}
	byService, err := s.roomIDs(ctx, bson.D{{Key: "service", Value: id}})
	if err != nil {
		return store.Service{}, err
	}
	svc.Rooms = orEmpty(byService[id])
	return svc, nil
}

// ListServices returns every service sorted by id, each with its room ids.
func (s *Store) ListServices(ctx context.Context) ([]store.Service, error) {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return nil, err
	}
	cur, err := s.services.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, s.fail(ctx, "list services", err)
	}
	var docs []serviceDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, "list services", err)
	}
	byService, err := s.roomIDs(ctx, bson.D{})
	if err != nil {
		return nil, err
	}
	list := make([]store.Service, 0, len(docs))
	for _, doc := range docs {
		svc, err := s.decodeService(doc)
		if err != nil {
			return nil, err
		}
		svc.Rooms = orEmpty(byService[doc.ID])
		list = append(list, svc)
	}
	return list, nil
}

// DeleteService removes the service's rooms, then the service, then sweeps its rooms again.
//
// Without transactions the steps are separate writes. Rooms go first so that a crash midway
// leaves a service with fewer rooms (a state a client could have made itself) rather than
// rooms without a service; repeating the delete finishes the job. The second sweep, with the
// re-check in CreateRoom, removes a room created concurrently with the delete.
func (s *Store) DeleteService(ctx context.Context, id string) error {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	byService := bson.D{{Key: "service", Value: id}}
	rooms, err := s.roomIDs(ctx, byService)
	if err != nil {
		return err
	}
	if err := s.deleteChatOf(ctx, rooms[id]); err != nil {
		return err
	}
	if _, err := s.rooms.DeleteMany(ctx, byService); err != nil {
		return s.fail(ctx, "delete rooms of service "+id, err)
	}
	res, err := s.services.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return s.fail(ctx, "delete service "+id, err)
	}
	if res.DeletedCount == 0 {
		return fmt.Errorf("%w: service %s", store.ErrNotFound, id)
	}
	if _, err := s.rooms.DeleteMany(ctx, byService); err != nil {
		return s.fail(ctx, "delete rooms of service "+id, err)
	}
	// Best effort, the service being gone: pool entries of its deleted rooms are never
	// claimed (a claim names its own service) and a claim that meets one drops it.
	_, _ = s.pool.DeleteMany(ctx, byService)
	return nil
}

func (s *Store) decodeService(doc serviceDoc) (store.Service, error) {
	if !doc.Encrypted {
		return store.Service{}, fmt.Errorf("%w: service %s key is not encrypted", store.ErrUnavailable, doc.ID)
	}
	key, err := s.box.Open(doc.Key, serviceAD(doc.ID))
	if err != nil {
		return store.Service{}, fmt.Errorf("%w: service %s key (wrong cluster key?): %w",
			store.ErrUnavailable, doc.ID, err)
	}
	return store.Service{ID: doc.ID, Name: doc.Name, Key: string(key)}, nil
}

// roomIDs returns the ids of the rooms matching filter, grouped by service, in id order.
func (s *Store) roomIDs(ctx context.Context, filter bson.D) (map[string][]string, error) {
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).
		SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "service", Value: 1}})
	cur, err := s.rooms.Find(ctx, filter, opts)
	if err != nil {
		return nil, s.fail(ctx, "list room ids", err)
	}
	var docs []struct {
		ID      string `bson:"_id"`
		Service string `bson:"service"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, "list room ids", err)
	}
	out := map[string][]string{}
	for _, d := range docs {
		out[d.Service] = append(out[d.Service], d.ID)
	}
	return out, nil
}

func orEmpty(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}
