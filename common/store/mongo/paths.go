package mongo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"

	"go.mongodb.org/mongo-driver/bson"
	mdb "go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/conclave-rtc/conclave/common/store"
)

// Room paths and the room pool. A room with a path carries it twice: path, and pathKey
// ("<service>/<path>") under a unique index, so two rooms of a service never share a path.
// Rooms without a path lack both fields, which that index skips (sparse on MongoDB; FerretDB's
// SQLite index allows any number of missing values).
//
// The claimable rooms are also listed in the roomPool collection, one {_id: roomID, service}
// document each. A claim takes a room by deleting its pool document: of concurrent claims,
// exactly one deletes it (the delete's count is exact on both servers), so two claims never
// get one room, where a conditional update on the room could let both win on FerretDB v1 (an
// update there is a query followed by a write by _id). The winner then sets the path; if
// another claim gave that path to another room first, the unique index refuses the update
// (MongoDB: a duplicate key; FerretDB: an internal error, so the holder is looked up to tell)
// and the room goes back to the pool, and the claim returns the other room. Until it is back,
// a concurrent claim of yet another path may find the pool empty.
//
// Without transactions a crash, or an outage, between two of these steps can leave a
// claimable room out of the pool: ReleaseRoom puts it back. A pool document whose room was
// deleted or is no longer claimable is dropped by the claim that finds it. An update or
// release of a room racing with the claim that took it is last-writer-wins, as two updates
// are; the path's uniqueness holds whatever the order.

// claimAttempts bounds the rounds of a claim while other claims keep taking its candidates.
const claimAttempts = 8

// claimCandidates is how many of the oldest claimable rooms one claim round tries, in random
// order, so that concurrent claims of different paths mostly try different rooms.
const claimCandidates = 16

func pathKey(serviceID, path string) string { return serviceID + "/" + path }

// claimable reports whether ClaimRoom may give r a path.
func claimable(r store.Room) bool { return r.Pool && r.Path == "" }

// pathFields are the path fields of r's document (none without a path).
func pathFields(r store.Room) bson.D {
	if r.Path == "" {
		return nil
	}
	return bson.D{{Key: "path", Value: r.Path}, {Key: "pathKey", Value: pathKey(r.ServiceID, r.Path)}}
}

func byPath(serviceID, path string) bson.D {
	return bson.D{{Key: "pathKey", Value: pathKey(serviceID, path)}, {Key: "service", Value: serviceID}}
}

// GetRoomByPath returns the service's room with that path.
func (s *Store) GetRoomByPath(ctx context.Context, serviceID, path string) (store.Room, error) {
	if path == "" {
		return store.Room{}, fmt.Errorf("%w: empty room path", store.ErrNotFound)
	}
	return s.findRoom(ctx, byPath(serviceID, path))
}

// ClaimRoom returns the service's room with that path, or gives the path to one of the
// service's claimable rooms; ErrNotFound when there is none.
func (s *Store) ClaimRoom(ctx context.Context, serviceID, path string) (store.Room, error) {
	if path == "" {
		return store.Room{}, store.ErrEmptyPath
	}
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return store.Room{}, err
	}
	for range claimAttempts {
		r, err := s.findRoom(ctx, byPath(serviceID, path))
		if !errors.Is(err, store.ErrNotFound) {
			return r, err
		}
		id, err := s.takePoolRoom(ctx, serviceID)
		if err != nil {
			return store.Room{}, err
		}
		if id == "" {
			continue // other claims took every candidate first
		}
		if r, ok, err := s.givePath(ctx, serviceID, id, path); ok || err != nil {
			return r, err
		}
	}
	return store.Room{}, fmt.Errorf("%w: claim of path %q: too much contention", store.ErrUnavailable, path)
}

// takePoolRoom removes one of the service's oldest claimable rooms from the pool and returns
// its id: "" when other claims removed every candidate first, ErrNotFound when the pool is
// empty.
func (s *Store) takePoolRoom(ctx context.Context, serviceID string) (string, error) {
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(claimCandidates).
		SetProjection(bson.D{{Key: "_id", Value: 1}})
	cur, err := s.pool.Find(ctx, bson.D{{Key: "service", Value: serviceID}}, opts)
	if err != nil {
		return "", s.fail(ctx, "room pool", err)
	}
	var docs []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return "", s.fail(ctx, "room pool", err)
	}
	if len(docs) == 0 {
		return "", fmt.Errorf("%w: no claimable room in service %s", store.ErrNotFound, serviceID)
	}
	for _, i := range rand.Perm(len(docs)) {
		res, err := s.pool.DeleteOne(ctx, bson.D{{Key: "_id", Value: docs[i].ID}})
		if err != nil {
			return "", s.fail(ctx, "take pool room "+docs[i].ID, err)
		}
		if res.DeletedCount == 1 {
			return docs[i].ID, nil
		}
	}
	return "", nil
}

// givePath gives path to the room the caller took from the pool. ok is false, without error,
// when the claim must go on: the path went to another room first (this one is back in the
// pool), or the room is gone or no longer claimable (it stays out of the pool).
func (s *Store) givePath(ctx context.Context, serviceID, roomID, path string) (r store.Room, ok bool, err error) {
	filter := bson.D{{Key: "_id", Value: roomID}, {Key: "service", Value: serviceID},
		{Key: "pool", Value: true}, {Key: "path", Value: bson.D{{Key: "$exists", Value: false}}}}
	set := pathFields(store.Room{ServiceID: serviceID, Path: path})
	res, err := s.rooms.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: set}})
	if err != nil {
		perr := s.pathError(ctx, store.Room{ID: roomID, ServiceID: serviceID, Path: path}, "claim room "+roomID, err)
		if rerr := s.returnToPool(ctx, serviceID, roomID); rerr != nil {
			return store.Room{}, false, errors.Join(perr, rerr)
		}
		if errors.Is(perr, store.ErrPathTaken) {
			return store.Room{}, false, nil
		}
		return store.Room{}, false, perr
	}
	if res.MatchedCount == 0 {
		return store.Room{}, false, nil
	}
	r, err = s.findRoom(ctx, bson.D{{Key: "_id", Value: roomID}})
	return r, err == nil, err
}

// ReleaseRoom removes the room's path and makes it claimable.
func (s *Store) ReleaseRoom(ctx context.Context, serviceID, roomID string) (store.Room, error) {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return store.Room{}, err
	}
	filter := bson.D{{Key: "_id", Value: roomID}, {Key: "service", Value: serviceID}}
	update := bson.D{{Key: "$set", Value: bson.D{{Key: "pool", Value: true}}},
		{Key: "$unset", Value: bson.D{{Key: "path", Value: ""}, {Key: "pathKey", Value: ""}}}}
	res, err := s.rooms.UpdateOne(ctx, filter, update)
	if err != nil {
		return store.Room{}, s.fail(ctx, "release room "+roomID, err)
	}
	if res.MatchedCount == 0 {
		return store.Room{}, fmt.Errorf("%w: room %s in service %s", store.ErrNotFound, roomID, serviceID)
	}
	if err := s.returnToPool(ctx, serviceID, roomID); err != nil {
		return store.Room{}, err
	}
	return s.findRoom(ctx, filter)
}

// returnToPool lists the room as claimable (again); already listed is fine.
func (s *Store) returnToPool(ctx context.Context, serviceID, roomID string) error {
	doc := bson.D{{Key: "_id", Value: roomID}, {Key: "service", Value: serviceID}}
	if _, err := s.pool.InsertOne(ctx, doc); err != nil && !mdb.IsDuplicateKeyError(err) {
		return s.fail(ctx, "return room "+roomID+" to the pool", err)
	}
	return nil
}

// leavePool removes the room from the pool and reports whether it was there.
func (s *Store) leavePool(ctx context.Context, serviceID, roomID string) (bool, error) {
	res, err := s.pool.DeleteOne(ctx, bson.D{{Key: "_id", Value: roomID}, {Key: "service", Value: serviceID}})
	if err != nil {
		return false, s.fail(ctx, "remove room "+roomID+" from the pool", err)
	}
	return res.DeletedCount == 1, nil
}

// pathError maps the failure of a write of r: ErrPathTaken when another room of the service
// holds r.Path (MongoDB reports the unique index as a duplicate key, FerretDB v1 as an internal
// error on updates, so the holder is looked up), else what fail says.
func (s *Store) pathError(ctx context.Context, r store.Room, what string, err error) error {
	if r.Path != "" {
		holder, ferr := s.findRoom(ctx, byPath(r.ServiceID, r.Path))
		if ferr == nil && holder.ID != r.ID {
			return fmt.Errorf("%w: %q in service %s", store.ErrPathTaken, r.Path, r.ServiceID)
		}
	}
	return s.fail(ctx, what, err)
}
