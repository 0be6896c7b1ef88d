package signaling

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/common/token"
)

// TokenStore is what login needs from the store: the cluster token key and one-time tokens.
type TokenStore interface {
	TokenKey(ctx context.Context, gen func() string) (string, error)
	ConsumeToken(ctx context.Context, id string) (store.Token, error)
}

// tokenKeyBytes is the size of a token key this portal would create if it were the first
// to need one (the management API normally creates it; same size).
const tokenKeyBytes = 64

// storeTimeout bounds each store access of a login.
const storeTimeout = 3 * time.Second

// authenticator checks login tokens (owt-protocol.md §3.2) with a cached token key.
type authenticator struct {
	store    TokenStore
	lifetime time.Duration
	now      func() time.Time

	mu  sync.Mutex
	key string
}

// consume verifies an encoded token and consumes its record (one use).
func (a *authenticator) consume(ctx context.Context, encoded string) (store.Token, error) {
	if a.store == nil {
		return store.Token{}, Failure(MsgUnavailable)
	}
	t, err := token.Decode(encoded)
	if err != nil {
		return store.Token{}, Failure(MsgInvalidToken)
	}
	if err := a.verify(ctx, t); err != nil {
		return store.Token{}, err
	}
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	rec, err := a.store.ConsumeToken(sctx, t.TokenID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Token{}, Failure(MsgInvalidToken)
	case err != nil:
		return store.Token{}, Failure(MsgUnavailable)
	}
	if a.now().Sub(rec.Created) > a.lifetime {
		return store.Token{}, Failure(MsgExpired)
	}
	return rec, nil
}

// verify checks the signature with the cached key, re-reading the key once on mismatch.
func (a *authenticator) verify(ctx context.Context, t token.Token) error {
	key, err := a.tokenKey(ctx, false)
	if err != nil {
		return err
	}
	if t.Verify(key) {
		return nil
	}
	fresh, err := a.tokenKey(ctx, true)
	if err != nil {
		return err
	}
	if fresh == key || !t.Verify(fresh) {
		return Failure(MsgTokenSignature)
	}
	return nil
}

// tokenKey returns the cached key, reading it from the store when absent or when reload.
func (a *authenticator) tokenKey(ctx context.Context, reload bool) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.key != "" && !reload {
		return a.key, nil
	}
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	key, err := a.store.TokenKey(sctx, func() string { return ids.RandomHex(tokenKeyBytes) })
	if err != nil {
		return "", Failure(MsgUnavailable)
	}
	a.key = key
	return key, nil
}
