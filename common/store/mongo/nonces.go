package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	mdb "go.mongodb.org/mongo-driver/mongo"
)

// nonceDoc is a claimed nonce.
type nonceDoc struct {
	ID      string    `bson:"_id"`
	Expires time.Time `bson:"expires"`
}

// ClaimNonce inserts the nonce: the unique _id makes exactly one of concurrent claims succeed.
// An expired record left by a past claim (PurgeNonces runs now and then) is removed by a
// delete conditioned on its expiry, and the insert tried once more.
func (s *Store) ClaimNonce(ctx context.Context, key string, expires time.Time) (bool, error) {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return false, err
	}
	for try := 0; ; try++ {
		_, err := s.nonces.InsertOne(ctx, nonceDoc{ID: key, Expires: expires.UTC()})
		switch {
		case err == nil:
			return true, nil
		case !mdb.IsDuplicateKeyError(err):
			return false, s.fail(ctx, "claim nonce", err)
		case try > 0:
			return false, nil
		}
		res, err := s.nonces.DeleteOne(ctx, bson.D{{Key: "_id", Value: key}, {Key: "expires", Value: bson.D{{Key: "$lte", Value: time.Now().UTC()}}}})
		if err != nil {
			return false, s.fail(ctx, "claim nonce", err)
		}
		if res.DeletedCount == 0 {
			return false, nil // claimed and still valid
		}
	}
}

// NoncesSince is the zero time: claims are in the database, nothing is forgotten.
func (s *Store) NoncesSince() time.Time { return time.Time{} }

// PurgeNonces removes the nonces that expired before cutoff.
func (s *Store) PurgeNonces(ctx context.Context, cutoff time.Time) (int, error) {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return 0, err
	}
	res, err := s.nonces.DeleteMany(ctx, bson.D{{Key: "expires", Value: bson.D{{Key: "$lt", Value: cutoff.UTC()}}}})
	if err != nil {
		return 0, s.fail(ctx, "purge nonces", err)
	}
	return int(res.DeletedCount), nil
}
