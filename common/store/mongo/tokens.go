package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"github.com/conclave-rtc/conclave/common/store"
)

// tokenDoc is the stored token.
type tokenDoc struct {
	ID      string    `bson:"_id"`
	Service string    `bson:"service"`
	Room    string    `bson:"room"`
	User    string    `bson:"user"`
	Role    string    `bson:"role"`
	ISP     string    `bson:"isp"`
	Region  string    `bson:"region"`
	Code    string    `bson:"code"`
	Secure  bool      `bson:"secure"`
	Host    string    `bson:"host"`
	Domain  string    `bson:"domain"`
	Created time.Time `bson:"created"`
}

func toTokenDoc(t store.Token) tokenDoc {
	return tokenDoc{ID: t.ID, Service: t.ServiceID, Room: t.RoomID, User: t.User, Role: t.Role,
		ISP: t.Origin.ISP, Region: t.Origin.Region, Code: t.Code, Secure: t.Secure, Host: t.Host,
		Domain: t.Domain, Created: t.Created}
}

func (d tokenDoc) token() store.Token {
	return store.Token{ID: d.ID, ServiceID: d.Service, RoomID: d.Room, User: d.User, Role: d.Role,
		Origin: store.Preference{ISP: d.ISP, Region: d.Region}, Code: d.Code, Secure: d.Secure,
		Host: d.Host, Domain: d.Domain, Created: millis(d.Created)}
}

// CreateToken stores t; ErrDuplicate if its id exists.
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	if _, err := s.tokens.InsertOne(ctx, toTokenDoc(t)); err != nil {
		return s.fail(ctx, "insert token "+t.ID, err)
	}
	return nil
}

// ConsumeToken reads the token, then deletes it by _id; the caller whose delete removed the
// document wins. This is used instead of findOneAndDelete because FerretDB v1 implements that
// as a query plus an unconditional delete, so several concurrent callers could all receive
// the token; a delete's count is exact on both servers.
func (s *Store) ConsumeToken(ctx context.Context, id string) (store.Token, error) {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return store.Token{}, err
	}
	filter := bson.D{{Key: "_id", Value: id}}
	var doc tokenDoc
	if err := s.tokens.FindOne(ctx, filter).Decode(&doc); err != nil {
		return store.Token{}, s.fail(ctx, "token "+id, err)
	}
	res, err := s.tokens.DeleteOne(ctx, filter)
	if err != nil {
		return store.Token{}, s.fail(ctx, "delete token "+id, err)
	}
	if res.DeletedCount != 1 {
		return store.Token{}, fmt.Errorf("%w: token %s (consumed concurrently)", store.ErrNotFound, id)
	}
	return doc.token(), nil
}

// PurgeTokens removes tokens created before cutoff.
func (s *Store) PurgeTokens(ctx context.Context, cutoff time.Time) (int, error) {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return 0, err
	}
	filter := bson.D{{Key: "created", Value: bson.D{{Key: "$lt", Value: cutoff}}}}
	res, err := s.tokens.DeleteMany(ctx, filter)
	if err != nil {
		return 0, s.fail(ctx, "purge tokens", err)
	}
	return int(res.DeletedCount), nil
}

// tokenKeyID is the keys-collection document holding the token-signing key.
const tokenKeyID = "token"

var tokenKeyAD = []byte("key/" + tokenKeyID)

// keyDoc is a stored, sealed key.
type keyDoc struct {
	ID        string `bson:"_id"`
	Key       string `bson:"key"`
	Encrypted bool   `bson:"encrypted"`
}

// TokenKey returns the token-signing key, creating it with gen on first use. Creation is an
// insert against the unique _id: of concurrent first callers one insert wins and the others
// get a duplicate key and read the winner's key.
func (s *Store) TokenKey(ctx context.Context, gen func() string) (string, error) {
	ctx, cancel, err := begin(ctx)
	defer cancel()
	if err != nil {
		return "", err
	}
	key, err := s.readTokenKey(ctx)
	if !errors.Is(err, store.ErrNotFound) {
		return key, err
	}
	key = gen()
	sealed, err := s.box.Seal([]byte(key), tokenKeyAD)
	if err != nil {
		return "", fmt.Errorf("%w: seal token key: %w", store.ErrUnavailable, err)
	}
	_, err = s.keys.InsertOne(ctx, keyDoc{ID: tokenKeyID, Key: sealed, Encrypted: true})
	switch err = s.fail(ctx, "insert token key", err); {
	case err == nil:
		return key, nil
	case errors.Is(err, store.ErrDuplicate):
		return s.readTokenKey(ctx)
	default:
		return "", err
	}
}

func (s *Store) readTokenKey(ctx context.Context) (string, error) {
	var doc keyDoc
	if err := s.keys.FindOne(ctx, bson.D{{Key: "_id", Value: tokenKeyID}}).Decode(&doc); err != nil {
		return "", s.fail(ctx, "token key", err)
	}
	plain, err := s.box.Open(doc.Key, tokenKeyAD)
	if err != nil {
		return "", fmt.Errorf("%w: token key (wrong cluster key?): %w", store.ErrUnavailable, err)
	}
	return string(plain), nil
}

// millis keeps a time to the millisecond in UTC, as BSON dates store it.
func millis(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()).UTC() }
