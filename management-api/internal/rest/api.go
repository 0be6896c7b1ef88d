// Package rest implements the OWT management REST resources: services, rooms, tokens, and the
// live resources of a room (participants, streams, streaming-ins/outs, recordings, SIP calls,
// analytics) that are RPCs to the room's conference agent.
package rest

import (
	"context"
	"log/slog"
	"time"

	"github.com/bluele/gcache"
	"github.com/gin-gonic/gin"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/iceconfig"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/management-api/internal/auth"
	"github.com/conclave-rtc/conclave/management-api/internal/respond"
)

// roomCacheSize bounds the number of rooms held in the room cache.
const roomCacheSize = 10000

// Scheduler picks a worker of a purpose for a task (implemented by *cluster.Registry).
type Scheduler interface {
	Schedule(ctx context.Context, purpose, task string, pref cluster.Preference) (cluster.Worker, error)
}

// Config tunes the handlers.
type Config struct {
	// BodyLimit is the largest accepted request body in bytes.
	BodyLimit int64
	// CacheTTL is how long rooms stay cached (0 disables the cache).
	CacheTTL time.Duration
	// SuperServiceID is the service that may manage services.
	SuperServiceID string
	// DefaultPreference is the token origin when the request has none (OWT {isp, region}).
	DefaultPreference store.Preference
	// ScheduleTimeout bounds the wait for a portal or conference agent.
	ScheduleTimeout time.Duration
	// CallTimeout bounds RPCs to conference agents; AddTimeout those that start an output or
	// a streaming-in, which wait for the media to be ready.
	CallTimeout, AddTimeout time.Duration
	// ICEServers hands out GET /v1/iceservers (nil: an empty list).
	ICEServers *iceconfig.Issuer
}

// Deps are the handlers' collaborators.
type Deps struct {
	Store     store.Store
	Bus       bus.Bus
	Scheduler Scheduler
	Auth      *auth.Authenticator
	Log       *slog.Logger
	Now       func() time.Time
}

// API holds the handlers. It starts no goroutines.
type API struct {
	cfg   Config
	deps  Deps
	rooms gcache.Cache // serviceID/roomID → room.Room; nil when CacheTTL is 0
}

// New returns the handlers.
func New(cfg Config, deps Deps) *API {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	a := &API{cfg: cfg, deps: deps}
	if cfg.CacheTTL > 0 {
		a.rooms = gcache.New(roomCacheSize).LRU().Expiration(cfg.CacheTTL).Build()
	}
	return a
}

// Register adds every resource route to r: /services… and, under both /v1 and /v1.1,
// /rooms…; all of them behind authMW.
func (a *API) Register(r gin.IRouter, authMW gin.HandlerFunc) {
	svc := r.Group("/services", authMW)
	svc.POST("", a.createService)
	svc.GET("", a.listServices)
	svc.GET("/:service", a.getService)
	svc.DELETE("/:service", a.deleteService)
	for _, prefix := range []string{"/v1", "/v1.1"} {
		a.registerRooms(r.Group(prefix+"/rooms", authMW))
		r.GET(prefix+"/iceservers", authMW, a.iceServers)
	}
}

func (a *API) registerRooms(g *gin.RouterGroup) {
	g.POST("", a.createRoom)
	g.GET("", a.listRooms)
	g.POST("/claim", a.claimRoom)
	one := g.Group("/:room", a.loadRoom)
	one.GET("", a.getRoom)
	one.PUT("", a.updateRoom)
	one.PATCH("", a.updateRoom)
	one.DELETE("", a.deleteRoom)
	one.POST("/tokens", a.createToken)
	one.POST("/release", a.releaseRoom)
	for _, k := range liveKinds() {
		a.registerLive(one, k)
	}
	a.registerMessages(one)
	a.registerStreamKeys(one)
}

// body reads the request's JSON body within the configured limit.
func (a *API) body(c *gin.Context) ([]byte, bool) {
	data, err := respond.ReadJSON(c, a.cfg.BodyLimit)
	if err != nil {
		respond.Error(c, err)
		return nil, false
	}
	return data, true
}

// fail answers err, logging the errors that are the server's.
func (a *API) fail(c *gin.Context, err error, msg string) {
	e := respond.Classify(err)
	if e.Status >= 500 {
		a.deps.Log.Warn(msg, "route", c.FullPath(), "err", err)
	}
	respond.Error(c, e)
}
