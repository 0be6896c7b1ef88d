package rest

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/common/token"
	"github.com/conclave-rtc/conclave/management-api/internal/auth"
	"github.com/conclave-rtc/conclave/management-api/internal/respond"
	"github.com/conclave-rtc/conclave/management-api/internal/validate"
)

// tokenKeyBytes is the size of a generated token-signing key (OWT: 64 random bytes, hex).
const tokenKeyBytes = 64

// createToken issues a one-time join token (owt-protocol.md §3.1).
func (a *API) createToken(c *gin.Context) {
	req, r, ok := a.userAndRole(c)
	if !ok {
		return
	}
	origin := a.cfg.DefaultPreference
	if req.Preference != nil {
		origin = *req.Preference
	}
	s, err := a.issueToken(c.Request.Context(), auth.FromContext(c).Service.ID, r.ID, req, origin)
	if err != nil {
		a.fail(c, err, "create token")
		return
	}
	respond.Text(c, s)
}

// userAndRole reads a token-shaped body {user, role, …} for the current room: the MAuth
// user override applies, and the role must be one of the room's. It answers the error itself.
func (a *API) userAndRole(c *gin.Context) (validate.TokenRequest, room.Room, bool) {
	data, ok := a.body(c)
	if !ok {
		return validate.TokenRequest{}, room.Room{}, false
	}
	req, err := validate.Token(data)
	if err != nil {
		respond.Error(c, err)
		return validate.TokenRequest{}, room.Room{}, false
	}
	r := currentRoom(c)
	if who := auth.FromContext(c); who.HasUser {
		req.User, req.Role = who.User, who.Role
	}
	if _, ok := r.Role(req.Role); req.User == "" || !ok {
		respond.Error(c, errs.BadRequest("Name or role not valid"))
		return validate.TokenRequest{}, room.Room{}, false
	}
	return req, r, true
}

// issueToken schedules a portal, stores the token record and returns the signed token.
func (a *API) issueToken(ctx context.Context, serviceID, roomID string, req validate.TokenRequest,
	origin store.Preference) (string, error) {
	code := strconv.FormatInt(rand.Int64N(1e11), 10)
	sctx, cancel := context.WithTimeout(ctx, a.cfg.ScheduleTimeout)
	w, err := a.deps.Scheduler.Schedule(sctx, "portal", code, origin)
	cancel()
	if err != nil {
		if !errors.Is(err, cluster.ErrNoWorker) {
			a.deps.Log.Warn("scheduling a portal failed", "room", roomID, "err", err)
		}
		return "", errs.Cluster("Failed to get portal")
	}
	host, secure := portalAddress(w)
	t := store.Token{ID: ids.ObjectID(), ServiceID: serviceID, RoomID: roomID, User: req.User,
		Role: req.Role, Origin: origin, Code: code, Secure: secure, Host: host, Domain: req.Domain,
		Created: a.deps.Now()}
	if err := a.deps.Store.CreateToken(ctx, t); err != nil {
		return "", err
	}
	key, err := a.deps.Store.TokenKey(ctx, func() string { return ids.RandomHex(tokenKeyBytes) })
	if err != nil {
		return "", err
	}
	return token.Encode(key, t.ID, host, secure), nil
}

// portalAddress applies OWT's via_host rule: a non-empty ViaHost ("https://name:port")
// overrides the portal's own host and TLS flag.
func portalAddress(w cluster.Worker) (host string, secure bool) {
	if w.ViaHost == "" {
		return w.Host, w.Secure
	}
	secure = strings.HasPrefix(w.ViaHost, "https")
	switch {
	case strings.HasPrefix(w.ViaHost, "https://"):
		host = w.ViaHost[len("https://"):]
	case strings.HasPrefix(w.ViaHost, "http://"):
		host = w.ViaHost[len("http://"):]
	default:
		host = w.ViaHost
	}
	return host, secure
}
