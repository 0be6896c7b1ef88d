package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/conclave-rtc/conclave/common/store"
)

// countingServices serves one service and counts lookups.
type countingServices struct {
	svc    store.Service
	calls  atomic.Int32
	err    error
	mu     sync.Mutex
	nonces map[string]bool
}

func (c *countingServices) GetService(_ context.Context, id string) (store.Service, error) {
	c.calls.Add(1)
	if c.err != nil {
		return store.Service{}, c.err
	}
	if id != c.svc.ID {
		return store.Service{}, store.ErrNotFound
	}
	return c.svc, nil
}

// ClaimNonce accepts every nonce once (in memory).
func (c *countingServices) ClaimNonce(_ context.Context, key string, _ time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nonces == nil {
		c.nonces = map[string]bool{}
	}
	if c.nonces[key] {
		return false, nil
	}
	c.nonces[key] = true
	return true, nil
}

// NoncesSince is the zero time (nothing forgotten).
func (c *countingServices) NoncesSince() time.Time { return time.Time{} }

// handSigned computes an MAuth header from scratch (HMAC-SHA256 → lower hex → base64).
func handSigned(id, key, ts, cnonce string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(ts + "," + cnonce))
	sig := base64.StdEncoding.EncodeToString([]byte(hex.EncodeToString(mac.Sum(nil))))
	return "MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA256,mauth_serviceid=" + id +
		",mauth_cnonce=" + cnonce + ",mauth_timestamp=" + ts + ",mauth_signature=" + sig
}

func serve(a *Authenticator, header string) int {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.GET("/x", a.Middleware(), func(c *gin.Context) {
		if FromContext(c).Service.ID == "" {
			c.Status(http.StatusTeapot)
			return
		}
		c.Status(http.StatusOK)
	})
	req := httptest.NewRequest("GET", "/x", nil)
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec.Code
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestAuthCacheAndInvalidate(t *testing.T) {
	svcs := &countingServices{svc: store.Service{ID: "65a1b2c3d4e5f60718293a4b", Key: "k"}}
	a := New(Config{CacheTTL: time.Minute}, svcs, discard())
	h := handSigned(svcs.svc.ID, "k", "1700000000000", "1")
	for range 3 {
		if code := serve(a, h); code != http.StatusOK {
			t.Fatalf("code %d", code)
		}
	}
	if n := svcs.calls.Load(); n != 1 {
		t.Fatalf("%d store lookups, want 1", n)
	}
	a.Invalidate(svcs.svc.ID)
	serve(a, h)
	if n := svcs.calls.Load(); n != 2 {
		t.Fatalf("%d store lookups after invalidate, want 2", n)
	}
	if code := serve(a, handSigned(svcs.svc.ID, "wrong", "1", "1")); code != http.StatusUnauthorized {
		t.Fatalf("bad key: %d", code)
	}
}

func TestAuthStoreDownAndDelay(t *testing.T) {
	svcs := &countingServices{err: store.ErrUnavailable}
	a := New(Config{}, svcs, discard())
	if code := serve(a, handSigned("65a1b2c3d4e5f60718293a4b", "k", "1", "1")); code != http.StatusInternalServerError {
		t.Fatalf("store down: %d", code)
	}
	a = New(Config{FailureDelay: 50 * time.Millisecond}, &countingServices{}, discard())
	start := time.Now()
	for range 10 {
		if code := serve(a, ""); code != http.StatusUnauthorized {
			t.Fatalf("code %d", code)
		}
	}
	if time.Since(start) == 0 || time.Since(start) > 2*time.Second {
		t.Fatalf("delay %v", time.Since(start))
	}
}

func TestAuthLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLimiter(2, func() time.Time { return now })
	for i := range 4 {
		if !l.allow("a") {
			t.Fatalf("request %d refused inside the burst", i)
		}
	}
	if l.allow("a") {
		t.Fatal("burst exceeded")
	}
	now = now.Add(500 * time.Millisecond)
	if !l.allow("a") || l.allow("a") {
		t.Fatal("refill after 0.5 s at 2/s should give exactly one")
	}
	if !l.allow("b") {
		t.Fatal("buckets are per service")
	}
	l.forget("a")
	if !l.allow("a") {
		t.Fatal("forget did not reset")
	}
}
