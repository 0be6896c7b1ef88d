package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/conclave-rtc/conclave/common/store"
)

// tokenKeyName is the keys-bucket entry holding the token-signing key.
const tokenKeyName = "token"

// leaseRecord is the stored form of a lease.
type leaseRecord struct {
	Owner   string `json:"owner"`
	Expires int64  `json:"expires"` // Unix milliseconds
}

// AcquireLease gives name to owner until now+ttl unless another owner holds an unexpired
// lease, in which case it returns that lease and store.ErrLeaseHeld.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (store.Lease, error) {
	var l store.Lease
	err := s.update(ctx, func(tx *bolt.Tx) error {
		leases := tx.Bucket(bucketLeases)
		now := time.Now()
		if raw := leases.Get([]byte(name)); raw != nil {
			cur, err := decodeLease(name, raw)
			if err != nil {
				return err
			}
			if cur.Owner != owner && !cur.Expires.Before(now) {
				l = cur
				return fmt.Errorf("%w: %s owned by %s", store.ErrLeaseHeld, name, cur.Owner)
			}
		}
		rec := leaseRecord{Owner: owner, Expires: toMillis(now.Add(ttl))}
		raw, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		l = store.Lease{Name: name, Owner: owner, Expires: fromMillis(rec.Expires)}
		return leases.Put([]byte(name), raw)
	})
	return l, err
}

// GetLease returns the current lease, possibly expired.
func (s *Store) GetLease(ctx context.Context, name string) (store.Lease, error) {
	var l store.Lease
	err := s.view(ctx, func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketLeases).Get([]byte(name))
		if raw == nil {
			return fmt.Errorf("%w: lease %s", store.ErrNotFound, name)
		}
		var err error
		l, err = decodeLease(name, raw)
		return err
	})
	return l, err
}

// ReleaseLease deletes the lease if owner holds it.
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		leases := tx.Bucket(bucketLeases)
		raw := leases.Get([]byte(name))
		if raw == nil {
			return nil
		}
		cur, err := decodeLease(name, raw)
		if err != nil || cur.Owner != owner {
			return err
		}
		return leases.Delete([]byte(name))
	})
}

func decodeLease(name string, raw []byte) (store.Lease, error) {
	var rec leaseRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return store.Lease{}, corrupt("lease", []byte(name), err)
	}
	return store.Lease{Name: name, Owner: rec.Owner, Expires: fromMillis(rec.Expires)}, nil
}

// TokenKey returns the token-signing key. On first use it creates the key with gen inside a
// write transaction that checks again for a stored key, so concurrent first callers all get
// the one stored key. The key is sealed at rest like service keys.
func (s *Store) TokenKey(ctx context.Context, gen func() string) (string, error) {
	var key string
	found := false
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		key, found, err = s.readTokenKey(tx)
		return err
	})
	if err != nil || found {
		return key, err
	}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		if key, found, err = s.readTokenKey(tx); err != nil || found {
			return err
		}
		key = gen()
		sealed, err := s.box.Seal([]byte(key), tokenKeyAD)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketKeys).Put([]byte(tokenKeyName), []byte(sealed))
	})
	return key, err
}

var tokenKeyAD = []byte("key/" + tokenKeyName)

func (s *Store) readTokenKey(tx *bolt.Tx) (string, bool, error) {
	sealed := tx.Bucket(bucketKeys).Get([]byte(tokenKeyName))
	if sealed == nil {
		return "", false, nil
	}
	plain, err := s.box.Open(string(sealed), tokenKeyAD)
	if err != nil {
		return "", false, fmt.Errorf("%w: token key (wrong cluster key?): %w", store.ErrUnavailable, err)
	}
	return string(plain), true, nil
}
