package whip

import (
	"context"
	"errors"
	"time"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/common/streamkey"
	"github.com/conclave-rtc/conclave/common/token"
)

// KeyStore is what stream keys need from the store: the key records, and one-time tokens
// with the token-signing key, through which a stream key joins like any token.
type KeyStore interface {
	GetStreamKey(ctx context.Context, id string) (store.StreamKey, error)
	CreateToken(ctx context.Context, t store.Token) error
	TokenKey(ctx context.Context, gen func() string) (string, error)
}

// storeTimeout bounds the store accesses of one stream-key login.
const storeTimeout = 3 * time.Second

// token returns the room token a bearer credential logs in with: a room token as given, or
// for a stream key a fresh one-time token for the key's room, user and role (so the login
// path, its checks and its expiry are the same for both).
func (s *Server) token(ctx context.Context, cred string) (string, *Error) {
	if !streamkey.Is(cred) {
		return cred, nil
	}
	id, secret, ok := streamkey.Parse(cred)
	if !ok || s.keys == nil {
		return "", errBadKey
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	k, err := s.keys.GetStreamKey(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", errBadKey
	case err != nil:
		return "", refusal("Portal is not ready")
	case !streamkey.Matches(k.Hash, secret):
		return "", errBadKey
	}
	t := store.Token{ID: ids.ObjectID(), ServiceID: k.ServiceID, RoomID: k.RoomID, User: k.User,
		Role: k.Role, Created: time.Now()}
	if err := s.keys.CreateToken(ctx, t); err != nil {
		return "", refusal("Portal is not ready")
	}
	key, err := s.keys.TokenKey(ctx, func() string { return ids.RandomHex(64) })
	if err != nil {
		return "", refusal("Portal is not ready")
	}
	return token.Encode(key, t.ID, "", false), nil
}
