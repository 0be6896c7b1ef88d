package mongo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/conclave-rtc/conclave/common/store"
)

// Leases are a chain of generations: each acquisition, renewal or release of a lease inserts
// the document {_id: name#gen, name, gen, owner, expires} with gen one above the newest one
// it saw, and the newest generation is the lease. Because the insert is against the unique
// _id, exactly one of several racing callers can create each generation, which makes it a
// compare-and-swap that works on FerretDB as on MongoDB. (A conditional upsert on
// {_id: name, $or: [{owner}, {expires < now}]} would not: FerretDB v1 applies updates as a
// query followed by an unconditional write by _id, so two agents could both take over an
// expired lease.)
//
// After a successful insert the caller checks that its generation is still the newest: a slow
// caller may fill a gap left by the clean-up of older generations, and must then withdraw.
// Older generations are deleted once a newer one is in place. A release inserts a tombstone
// (empty owner) instead of deleting, so generation numbers never go back; each lease name
// therefore keeps one small document after release.

// leaseAttempts bounds retries when other callers keep moving the chain.
const leaseAttempts = 4

// leaseDoc is one generation of a lease.
type leaseDoc struct {
	ID      string    `bson:"_id"`
	Name    string    `bson:"name"`
	Gen     int64     `bson:"gen"`
	Owner   string    `bson:"owner"` // empty: released
	Expires time.Time `bson:"expires"`
}

func newLeaseDoc(name string, gen int64, owner string, expires time.Time) leaseDoc {
	return leaseDoc{ID: name + "#" + strconv.FormatInt(gen, 10), Name: name, Gen: gen,
		Owner: owner, Expires: millis(expires)}
}

func (d leaseDoc) lease() store.Lease {
	return store.Lease{Name: d.Name, Owner: d.Owner, Expires: millis(d.Expires)}
}

// heldAgainst reports whether the lease is live and held by someone other than owner.
func (d leaseDoc) heldAgainst(owner string, now time.Time) bool {
	return d.Owner != "" && d.Owner != owner && !d.Expires.Before(now)
}

// AcquireLease gives name to owner until now+ttl if it is free, expired or owner's; otherwise
// it returns the current lease and store.ErrLeaseHeld.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (store.Lease, error) {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return store.Lease{}, err
	}
	for range leaseAttempts {
		cur, _, err := s.latestLease(ctx, name)
		if err != nil {
			return store.Lease{}, err
		}
		now := time.Now()
		if cur.heldAgainst(owner, now) {
			return cur.lease(), fmt.Errorf("%w: %s owned by %s", store.ErrLeaseHeld, name, cur.Owner)
		}
		next := newLeaseDoc(name, cur.Gen+1, owner, now.Add(ttl))
		won, err := s.appendLease(ctx, next)
		if err != nil {
			return store.Lease{}, err
		}
		if won {
			return next.lease(), nil
		}
	}
	return s.contended(ctx, name, owner)
}

// contended answers after the retries ran out: normally because others hold the lease.
func (s *Store) contended(ctx context.Context, name, owner string) (store.Lease, error) {
	cur, found, err := s.latestLease(ctx, name)
	if err != nil {
		return store.Lease{}, err
	}
	if found && cur.heldAgainst(owner, time.Now()) {
		return cur.lease(), fmt.Errorf("%w: %s owned by %s", store.ErrLeaseHeld, name, cur.Owner)
	}
	return store.Lease{}, fmt.Errorf("%w: lease %s: too much contention", store.ErrUnavailable, name)
}

// appendLease inserts the next generation and reports whether it became the newest one. The
// loser of a race (duplicate _id, or a generation already superseded) gets false.
func (s *Store) appendLease(ctx context.Context, next leaseDoc) (bool, error) {
	if _, err := s.leases.InsertOne(ctx, next); err != nil {
		err = s.fail(ctx, "insert lease "+next.ID, err)
		if errors.Is(err, store.ErrDuplicate) {
			return false, nil
		}
		return false, err
	}
	top, _, err := s.latestLease(ctx, next.Name)
	if err != nil {
		return false, err
	}
	if top.Gen != next.Gen {
		// A stale generation below the newest: withdraw it. It was never the newest, so no
		// reader took it for the lease.
		if _, err := s.leases.DeleteOne(ctx, bson.D{{Key: "_id", Value: next.ID}}); err != nil {
			return false, s.fail(ctx, "withdraw lease "+next.ID, err)
		}
		return false, nil
	}
	// Best effort: a failure only leaves older generations for the next successful call.
	older := bson.D{{Key: "name", Value: next.Name}, {Key: "gen", Value: bson.D{{Key: "$lt", Value: next.Gen}}}}
	_, _ = s.leases.DeleteMany(ctx, older)
	return true, nil
}

// latestLease returns the newest generation of name; found is false (and Gen 0) if there is
// none.
func (s *Store) latestLease(ctx context.Context, name string) (leaseDoc, bool, error) {
	var doc leaseDoc
	opts := options.FindOne().SetSort(bson.D{{Key: "gen", Value: -1}})
	err := s.leases.FindOne(ctx, bson.D{{Key: "name", Value: name}}, opts).Decode(&doc)
	if err != nil {
		err = s.fail(ctx, "lease "+name, err)
		if errors.Is(err, store.ErrNotFound) {
			return leaseDoc{}, false, nil
		}
		return leaseDoc{}, false, err
	}
	return doc, true, nil
}

// GetLease returns the current lease (possibly expired); ErrNotFound if none or released.
func (s *Store) GetLease(ctx context.Context, name string) (store.Lease, error) {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return store.Lease{}, err
	}
	cur, found, err := s.latestLease(ctx, name)
	if err != nil {
		return store.Lease{}, err
	}
	if !found || cur.Owner == "" {
		return store.Lease{}, fmt.Errorf("%w: lease %s", store.ErrNotFound, name)
	}
	return cur.lease(), nil
}

// ReleaseLease ends owner's lease by appending a tombstone generation; it does nothing if
// owner does not hold the newest generation (or loses the race to whoever moved it on).
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	cur, found, err := s.latestLease(ctx, name)
	if err != nil || !found || cur.Owner != owner {
		return err
	}
	_, err = s.appendLease(ctx, newLeaseDoc(name, cur.Gen+1, "", time.UnixMilli(0)))
	return err
}
