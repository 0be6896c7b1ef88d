package rest

import (
	"errors"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/common/streamkey"
	"github.com/conclave-rtc/conclave/management-api/internal/auth"
	"github.com/conclave-rtc/conclave/management-api/internal/respond"
	"github.com/conclave-rtc/conclave/management-api/internal/validate"
)

// registerStreamKeys adds the stream key routes (a Conclave extension, docs/whip-whep.md):
// long-lived WHIP bearer credentials for one room and role, revoked by DELETE.
func (a *API) registerStreamKeys(g *gin.RouterGroup) {
	g.POST("/streamkeys", a.createStreamKey)
	g.GET("/streamkeys", a.listStreamKeys)
	g.DELETE("/streamkeys/:item", a.deleteStreamKey)
}

// streamKeyOut is the REST form of a stream key; Key is only in the creation answer.
type streamKeyOut struct {
	ID      string `json:"id"`
	Key     string `json:"key,omitempty"`
	User    string `json:"user"`
	Role    string `json:"role"`
	Created string `json:"created"`
}

func streamKeyOf(k store.StreamKey) streamKeyOut {
	return streamKeyOut{ID: k.ID, User: k.User, Role: k.Role, Created: k.Created.UTC().Format(time.RFC3339)}
}

// createStreamKey answers POST …/streamkeys {user, role}: the key string is in the answer
// and nowhere else (the store keeps its hash).
func (a *API) createStreamKey(c *gin.Context) {
	req, r, ok := a.userAndRole(c)
	if !ok {
		return
	}
	k := store.StreamKey{ID: ids.ObjectID(), ServiceID: auth.FromContext(c).Service.ID, RoomID: r.ID,
		User: req.User, Role: req.Role, Created: a.deps.Now()}
	var key string
	key, k.Hash = streamkey.New(k.ID)
	if err := a.deps.Store.CreateStreamKey(c.Request.Context(), k); err != nil {
		a.fail(c, err, "create stream key")
		return
	}
	out := streamKeyOf(k)
	out.Key = key
	respond.JSON(c, out)
}

// listStreamKeys answers GET …/streamkeys (without the keys themselves).
func (a *API) listStreamKeys(c *gin.Context) {
	keys, err := a.deps.Store.ListStreamKeys(c.Request.Context(), auth.FromContext(c).Service.ID, currentRoom(c).ID)
	if err != nil {
		a.fail(c, err, "list stream keys")
		return
	}
	out := make([]streamKeyOut, 0, len(keys))
	for _, k := range keys {
		out = append(out, streamKeyOf(k))
	}
	respond.JSON(c, out)
}

// deleteStreamKey answers DELETE …/streamkeys/{id}: the key stops working at once (a WHIP
// session it started goes on until it ends).
func (a *API) deleteStreamKey(c *gin.Context) {
	id := c.Param("item")
	if !validate.PathID(id) {
		respond.Error(c, errs.NotFound("Stream key not found"))
		return
	}
	err := a.deps.Store.DeleteStreamKey(c.Request.Context(), auth.FromContext(c).Service.ID, currentRoom(c).ID, id)
	if errors.Is(err, store.ErrNotFound) {
		respond.Error(c, errs.NotFound("Stream key not found"))
		return
	}
	if err != nil {
		a.fail(c, err, "delete stream key")
		return
	}
	respond.Text(c, "Success")
}
