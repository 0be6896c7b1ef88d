package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/conclave-rtc/conclave/common/store"
)

// collStreamKeys holds stream keys by id.
const collStreamKeys = "streamKeys"

// streamKeyDoc is a stored stream key.
type streamKeyDoc struct {
	ID      string    `bson:"_id"`
	Service string    `bson:"service"`
	Room    string    `bson:"room"`
	User    string    `bson:"user"`
	Role    string    `bson:"role"`
	Hash    string    `bson:"hash"`
	Created time.Time `bson:"created"`
}

func (d streamKeyDoc) key() store.StreamKey {
	return store.StreamKey{ID: d.ID, ServiceID: d.Service, RoomID: d.Room, User: d.User, Role: d.Role,
		Hash: d.Hash, Created: millis(d.Created)}
}

// CreateStreamKey stores k; ErrDuplicate if its id exists.
func (s *Store) CreateStreamKey(ctx context.Context, k store.StreamKey) error {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	doc := streamKeyDoc{ID: k.ID, Service: k.ServiceID, Room: k.RoomID, User: k.User, Role: k.Role,
		Hash: k.Hash, Created: k.Created}
	if _, err := s.db.Collection(collStreamKeys).InsertOne(ctx, doc); err != nil {
		return s.fail(ctx, "insert stream key "+k.ID, err)
	}
	return nil
}

// GetStreamKey returns the key with id; ErrNotFound if absent.
func (s *Store) GetStreamKey(ctx context.Context, id string) (store.StreamKey, error) {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return store.StreamKey{}, err
	}
	var doc streamKeyDoc
	if err := s.db.Collection(collStreamKeys).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
		return store.StreamKey{}, s.fail(ctx, "stream key "+id, err)
	}
	return doc.key(), nil
}

// ListStreamKeys returns the room's keys sorted by id.
func (s *Store) ListStreamKeys(ctx context.Context, serviceID, roomID string) ([]store.StreamKey, error) {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return nil, err
	}
	filter := bson.D{{Key: "service", Value: serviceID}, {Key: "room", Value: roomID}}
	cur, err := s.db.Collection(collStreamKeys).Find(ctx, filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, s.fail(ctx, "list stream keys", err)
	}
	var docs []streamKeyDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, s.fail(ctx, "list stream keys", err)
	}
	out := make([]store.StreamKey, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.key())
	}
	return out, nil
}

// DeleteStreamKey removes a key of the room; ErrNotFound if absent or of another room.
func (s *Store) DeleteStreamKey(ctx context.Context, serviceID, roomID, id string) error {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	filter := bson.D{{Key: "_id", Value: id}, {Key: "service", Value: serviceID}, {Key: "room", Value: roomID}}
	res, err := s.db.Collection(collStreamKeys).DeleteOne(ctx, filter)
	if err != nil {
		return s.fail(ctx, "delete stream key "+id, err)
	}
	if res.DeletedCount != 1 {
		return fmt.Errorf("%w: stream key %s", store.ErrNotFound, id)
	}
	return nil
}
