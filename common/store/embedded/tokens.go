package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/conclave-rtc/conclave/common/store"
)

// tokenRecord is the stored form of a token.
type tokenRecord struct {
	Service string           `json:"service"`
	Room    string           `json:"room"`
	User    string           `json:"user"`
	Role    string           `json:"role"`
	Origin  store.Preference `json:"origin"`
	Code    string           `json:"code"`
	Secure  bool             `json:"secure"`
	Host    string           `json:"host"`
	Domain  string           `json:"domain"`
	Created int64            `json:"created"` // Unix milliseconds
}

func toTokenRecord(t store.Token) tokenRecord {
	return tokenRecord{Service: t.ServiceID, Room: t.RoomID, User: t.User, Role: t.Role,
		Origin: t.Origin, Code: t.Code, Secure: t.Secure, Host: t.Host, Domain: t.Domain,
		Created: toMillis(t.Created)}
}

func (r tokenRecord) token(id string) store.Token {
	return store.Token{ID: id, ServiceID: r.Service, RoomID: r.Room, User: r.User, Role: r.Role,
		Origin: r.Origin, Code: r.Code, Secure: r.Secure, Host: r.Host, Domain: r.Domain,
		Created: fromMillis(r.Created)}
}

// CreateToken stores t; ErrDuplicate if its id exists.
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	rec, err := json.Marshal(toTokenRecord(t))
	if err != nil {
		return fmt.Errorf("encode token: %w", err)
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		tokens := tx.Bucket(bucketTokens)
		if tokens.Get([]byte(t.ID)) != nil {
			return fmt.Errorf("%w: token %s", store.ErrDuplicate, t.ID)
		}
		return tokens.Put([]byte(t.ID), rec)
	})
}

// ConsumeToken reads and deletes the token in one write transaction; bbolt runs one writer at
// a time, so exactly one of many concurrent callers finds it.
func (s *Store) ConsumeToken(ctx context.Context, id string) (store.Token, error) {
	var tok store.Token
	err := s.update(ctx, func(tx *bolt.Tx) error {
		tokens := tx.Bucket(bucketTokens)
		raw := tokens.Get([]byte(id))
		if raw == nil {
			return fmt.Errorf("%w: token %s", store.ErrNotFound, id)
		}
		var rec tokenRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			return corrupt("token", []byte(id), err)
		}
		tok = rec.token(id)
		return tokens.Delete([]byte(id))
	})
	return tok, err
}

// PurgeTokens removes tokens created before cutoff. It reads every token, which is fine for
// the few hundred live at any time (tokens live 180 s).
func (s *Store) PurgeTokens(ctx context.Context, cutoff time.Time) (int, error) {
	limit := toMillis(cutoff)
	n := 0
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var old [][]byte
		err := tx.Bucket(bucketTokens).ForEach(func(k, v []byte) error {
			var rec tokenRecord
			if err := json.Unmarshal(v, &rec); err != nil || rec.Created < limit {
				old = append(old, k) // an undecodable token can never be used: purge it too
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range old {
			if err := tx.Bucket(bucketTokens).Delete(k); err != nil {
				return err
			}
		}
		n = len(old)
		return nil
	})
	return n, err
}
