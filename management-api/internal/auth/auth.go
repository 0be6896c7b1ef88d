// Package auth authenticates management API requests with OWT's MAuth scheme
// (owt-protocol.md §2): header parsing and HMAC verification from package mauth, service keys
// looked up through a short-lived cache, an optional replay window, an optional per-service
// rate limit, and OWT's randomised delay on failure.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
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

// replayEntries bounds the replay guard's memory.
const replayEntries = 100000

// Services is the part of the store the authenticator reads.
type Services interface {
	GetService(ctx context.Context, id string) (store.Service, error)
}

// Config tunes the authenticator.
type Config struct {
	// SuperServiceID is the service allowed to manage services.
	SuperServiceID string
	// CacheTTL is how long a service key is cached (0 disables the cache).
	CacheTTL time.Duration
	// ReplayWindow enables the replay guard: timestamps must be within ±ReplayWindow and a
	// (service, timestamp, cnonce) triple is accepted once (0 = off, as in OWT).
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
	replay   *mauth.ReplayGuard
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
	if cfg.ReplayWindow > 0 {
		a.replay = mauth.NewReplayGuard(cfg.ReplayWindow, replayEntries)
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
		return Identity{}, fmt.Errorf("%w: service id is not 24 hex characters", errAuth)
	}
	svc, err := a.service(ctx, p.ServiceID)
	if errors.Is(err, store.ErrNotFound) {
		return Identity{}, fmt.Errorf("%w: unknown service", errAuth)
	}
	if err != nil {
		return Identity{}, err
	}
	if !p.Verify(svc.Key) {
		return Identity{}, fmt.Errorf("%w: bad signature", errAuth)
	}
	if err := a.replay.Check(p.ServiceID, p.Timestamp, p.Cnonce, a.cfg.Now()); err != nil {
		return Identity{}, fmt.Errorf("%w: %w", errAuth, err)
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
	respond.Error(c, errs.Auth())
}
