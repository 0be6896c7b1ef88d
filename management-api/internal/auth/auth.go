// Package auth authenticates management API requests with OWT's MAuth scheme
// (docs/owt-protocol.md §2): header parsing and HMAC verification from package mauth,
// service keys looked up through a short-lived cache, replay protection (a timestamp window
// and each cnonce accepted once, shared through the store), an optional per-service rate
// limit, and OWT's randomised delay on failure.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/bluele/gcache"
	"github.com/gin-gonic/gin"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/mauth"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/management-api/internal/respond"
)

// cacheSize bounds the number of service keys held in memory.
const cacheSize = 10000

// Services is the part of the store the authenticator uses: service keys, and the nonces of
// accepted requests.
type Services interface {
	GetService(ctx context.Context, id string) (store.Service, error)
	ClaimNonce(ctx context.Context, key string, expires time.Time) (bool, error)
	NoncesSince() time.Time
}

// Config tunes the authenticator.
type Config struct {
	// SuperServiceID is the service allowed to manage services.
	SuperServiceID string
	// CacheTTL is how long a service key is cached (0 disables the cache).
	CacheTTL time.Duration
	// ReplayWindow enables replay protection: timestamps must be within ±ReplayWindow of the
	// server's clock and a (service, timestamp, cnonce) triple is accepted once, by every
	// instance sharing the store (0 = off, OWT 5.1's behaviour).
	ReplayWindow time.Duration
	// RateLimit is the number of authenticated requests per second allowed per service,
	// with a burst of twice that (0 = unlimited).
	RateLimit float64
	// FailureDelay is the upper bound of a random delay before a 401 (OWT: 1 s; 0 = none).
	FailureDelay time.Duration
	// Now returns the current time (time.Now if nil).
	Now func() time.Time
}

// Identity is what a verified request carries.
type Identity struct {
	Service store.Service
	Super   bool
	// User and Role come from the signed mauth_username/mauth_role; HasUser is false when
	// the header does not carry both.
	User    string
	Role    string
	HasUser bool
}

// Authenticator is the MAuth gin middleware. It starts no goroutines.
type Authenticator struct {
	cfg      Config
	services Services
	cache    gcache.Cache
	limiter  *limiter
	log      *slog.Logger
}

// New returns an authenticator reading keys from services.
func New(cfg Config, services Services, log *slog.Logger) *Authenticator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &Authenticator{cfg: cfg, services: services, log: log}
	if cfg.CacheTTL > 0 {
		a.cache = gcache.New(cacheSize).LRU().Expiration(cfg.CacheTTL).Build()
	}
	if cfg.RateLimit > 0 {
		a.limiter = newLimiter(cfg.RateLimit, cfg.Now)
	}
	return a
}

// identityKey stores the Identity in the gin context.
const identityKey = "conclave.identity"

// FromContext returns the identity Middleware stored.
func FromContext(c *gin.Context) Identity {
	v, _ := c.Get(identityKey)
	id, _ := v.(Identity)
	return id
}

// Invalidate forgets the cached key of serviceID (called when the service is deleted).
func (a *Authenticator) Invalidate(serviceID string) {
	if a.cache != nil {
		a.cache.Remove(serviceID)
	}
	if a.limiter != nil {
		a.limiter.forget(serviceID)
	}
}

// Middleware verifies the request's Authorization header and stores the Identity. Every
// authentication failure is OWT's 401/1101; a store outage is 500/1401; an exceeded rate
// limit 429/1102.
func (a *Authenticator) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		id, err := a.authenticate(c.Request.Context(), c.GetHeader("Authorization"))
		if err != nil {
			a.fail(c, err)
			return
		}
		c.Set(identityKey, id)
		c.Next()
	}
}

// errAuth marks failures that are the client's (answered 401).
var errAuth = errors.New("auth: rejected")

func (a *Authenticator) authenticate(ctx context.Context, header string) (Identity, error) {
	p, err := mauth.Parse(header)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %w", errAuth, err)
	}
	if !ids.IsObjectID(p.ServiceID) {
		return Identity{}, fmt.Errorf("%w: %w: service id is not 24 hex characters", errAuth, mauth.ErrMalformed)
	}
	svc, err := a.service(ctx, p.ServiceID)
	if errors.Is(err, store.ErrNotFound) {
		return Identity{}, fmt.Errorf("%w: %w", errAuth, errUnknownService)
	}
	if err != nil {
		return Identity{}, err
	}
	if !p.Verify(svc.Key) {
		return Identity{}, fmt.Errorf("%w: %w", errAuth, errBadSignature)
	}
	if err := a.checkReplay(ctx, p); err != nil {
		return Identity{}, err
	}
	if a.limiter != nil && !a.limiter.allow(p.ServiceID) {
		return Identity{}, errs.New(http.StatusTooManyRequests, errs.CodePermission, "Too many requests")
	}
	id := Identity{Service: svc, Super: svc.ID == a.cfg.SuperServiceID, Role: p.Role}
	id.User, id.HasUser = p.User()
	if !id.HasUser {
		id.Role = ""
	}
	return id, nil
}

// checkReplay refuses a signed request whose timestamp is outside the window, or whose
// service, timestamp and cnonce were accepted before (by any instance: the claim is in the
// store). It runs after the signature verified, so unsigned traffic cannot fill the store.
func (a *Authenticator) checkReplay(ctx context.Context, p mauth.Params) error {
	w := a.cfg.ReplayWindow
	if w <= 0 {
		return nil
	}
	ms, err := strconv.ParseInt(p.Timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %w: timestamp is not a number", errAuth, mauth.ErrStale)
	}
	ts := time.UnixMilli(ms)
	if skew := a.cfg.Now().Sub(ts); skew > w || skew < -w {
		return fmt.Errorf("%w: %w: timestamp is %v away from the server's clock", errAuth, mauth.ErrStale, skew.Round(time.Second))
	}
	if ts.Before(a.services.NoncesSince()) {
		// The store forgot the claims made before it opened (a restart): this request may
		// have been accepted then.
		return fmt.Errorf("%w: %w: timestamp is from before the server started", errAuth, mauth.ErrStale)
	}
	// Past ts+window the timestamp fails the check above: the claim need not outlive it.
	fresh, err := a.services.ClaimNonce(ctx, p.ServiceID+"\x00"+p.Timestamp+"\x00"+p.Cnonce, ts.Add(w+time.Second))
	if err != nil {
		return err
	}
	if !fresh {
		return fmt.Errorf("%w: %w", errAuth, mauth.ErrReplay)
	}
	return nil
}

// service returns the service through the cache.
func (a *Authenticator) service(ctx context.Context, id string) (store.Service, error) {
	if a.cache != nil {
		if v, err := a.cache.Get(id); err == nil {
			return v.(store.Service), nil
		}
	}
	svc, err := a.services.GetService(ctx, id)
	if err != nil {
		return store.Service{}, err
	}
	if a.cache != nil {
		_ = a.cache.Set(id, svc)
	}
	return svc, nil
}

// fail answers an authentication failure after OWT's random delay (only for 401s).
func (a *Authenticator) fail(c *gin.Context, err error) {
	if !errors.Is(err, errAuth) {
		if e := respond.Classify(err); e.Status >= http.StatusInternalServerError {
			a.log.Warn("authentication could not complete", "err", err)
		}
		respond.Error(c, err)
		return
	}
	a.log.Debug("authentication failed", "cause", err.Error())
	if d := a.cfg.FailureDelay; d > 0 {
		t := time.NewTimer(rand.N(d))
		select {
		case <-t.C:
		case <-c.Request.Context().Done():
			t.Stop()
		}
	}
	c.Header("WWW-Authenticate", errs.MAuthChallenge)
	respond.Error(c, errs.AuthFailed(failureReason(err)))
}

// failureReason names the part of the authentication that failed, for the 401's message.
func failureReason(err error) string {
	switch {
	case errors.Is(err, mauth.ErrNoHeader):
		return "missing Authorization header"
	case errors.Is(err, errUnknownService):
		return "unknown service"
	case errors.Is(err, errBadSignature):
		return "bad signature"
	case errors.Is(err, mauth.ErrReplay):
		return "request already used (sign every request afresh)"
	case errors.Is(err, mauth.ErrStale):
		return "stale timestamp (the server's clock and yours differ, or the request is old)"
	}
	return "malformed Authorization header"
}

// Causes of a 401 that package mauth does not name.
var (
	errUnknownService = errors.New("auth: unknown service")
	errBadSignature   = errors.New("auth: bad signature")
)
