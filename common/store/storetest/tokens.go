package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
)

var tokenTests = []namedTest{
	{"CreateConsume", testTokenCreateConsume},
	{"Duplicate", testTokenDuplicate},
	{"ConcurrentConsume", testTokenConcurrentConsume},
	{"Purge", testTokenPurge},
}

func newToken(created time.Time) store.Token {
	return store.Token{
		ID: ids.ObjectID(), ServiceID: ids.ObjectID(), RoomID: ids.ObjectID(),
		User: "alice", Role: "presenter", Origin: store.Preference{ISP: "isp", Region: "eu"},
		Code: ids.RandomHex(8), Secure: true, Host: "127.0.0.1:8080", Domain: "example.test",
		Created: created,
	}
}

func testTokenCreateConsume(t *testing.T, s store.Store) {
	tok := newToken(time.Now())
	wantErr(t, "CreateToken", s.CreateToken(ctx(t), tok), nil)
	got, err := s.ConsumeToken(ctx(t), tok.ID)
	wantErr(t, "ConsumeToken", err, nil)
	if !got.Created.Equal(tok.Created.Truncate(time.Millisecond)) {
		t.Fatalf("Created = %v, want %v (millisecond precision)", got.Created, tok.Created)
	}
	got.Created, tok.Created = time.Time{}, time.Time{}
	if got != tok {
		t.Fatalf("ConsumeToken = %+v, want %+v", got, tok)
	}
	_, err = s.ConsumeToken(ctx(t), tok.ID)
	wantErr(t, "ConsumeToken(second use)", err, store.ErrNotFound)
	_, err = s.ConsumeToken(ctx(t), ids.ObjectID())
	wantErr(t, "ConsumeToken(unknown)", err, store.ErrNotFound)
}

func testTokenDuplicate(t *testing.T, s store.Store) {
	tok := newToken(time.Now())
	wantErr(t, "CreateToken", s.CreateToken(ctx(t), tok), nil)
	wantErr(t, "CreateToken(same id)", s.CreateToken(ctx(t), tok), store.ErrDuplicate)
}

// testTokenConcurrentConsume checks the one-time property OWT relies on: of many portals racing
// to consume one token, exactly one succeeds.
func testTokenConcurrentConsume(t *testing.T, s store.Store) {
	const consumers = 50
	tok := newToken(time.Now())
	wantErr(t, "CreateToken", s.CreateToken(ctx(t), tok), nil)
	var wins, misses atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	c := ctx(t)
	for range consumers {
		wg.Go(func() {
			<-start
			got, err := s.ConsumeToken(c, tok.ID)
			switch {
			case err == nil && got.ID == tok.ID:
				wins.Add(1)
			case errors.Is(err, store.ErrNotFound):
				misses.Add(1)
			default:
				t.Errorf("ConsumeToken: %+v, %v", got, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 || misses.Load() != consumers-1 {
		t.Fatalf("%d consumers won and %d missed, want 1 and %d", wins.Load(), misses.Load(), consumers-1)
	}
}

func testTokenPurge(t *testing.T, s store.Store) {
	now := time.Now()
	old1, old2, fresh := newToken(now.Add(-10*time.Minute)), newToken(now.Add(-5*time.Minute)), newToken(now)
	for _, tok := range []store.Token{old1, fresh, old2} {
		wantErr(t, "CreateToken", s.CreateToken(ctx(t), tok), nil)
	}
	n, err := s.PurgeTokens(ctx(t), now.Add(-time.Minute))
	wantErr(t, "PurgeTokens", err, nil)
	if n != 2 {
		t.Fatalf("PurgeTokens removed %d, want 2", n)
	}
	for _, tok := range []store.Token{old1, old2} {
		_, err := s.ConsumeToken(ctx(t), tok.ID)
		wantErr(t, "ConsumeToken(purged)", err, store.ErrNotFound)
	}
	_, err = s.ConsumeToken(ctx(t), fresh.ID)
	wantErr(t, "ConsumeToken(fresh)", err, nil)
	n, err = s.PurgeTokens(ctx(t), now.Add(time.Hour))
	wantErr(t, "PurgeTokens(empty)", err, nil)
	if n != 0 {
		t.Fatalf("PurgeTokens on an empty store removed %d", n)
	}
}
