package rest

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/management-api/internal/auth"
	"github.com/conclave-rtc/conclave/management-api/internal/respond"
	"github.com/conclave-rtc/conclave/management-api/internal/validate"
)

// serviceJSON is the REST shape of a service. Unlike OWT, which returned the encrypted key,
// the key is never returned.
type serviceJSON struct {
	ID        string   `json:"_id"`
	Name      string   `json:"name"`
	Encrypted bool     `json:"encrypted"`
	Rooms     []string `json:"rooms"`
	V         int      `json:"__v"`
}

func toServiceJSON(s store.Service) serviceJSON {
	rooms := s.Rooms
	if rooms == nil {
		rooms = []string{}
	}
	return serviceJSON{ID: s.ID, Name: s.Name, Encrypted: true, Rooms: rooms}
}

// requireSuper answers 403/1102 unless the caller is the super service.
func requireSuper(c *gin.Context) bool {
	if !auth.FromContext(c).Super {
		respond.Error(c, errs.Permission())
		return false
	}
	return true
}

func (a *API) createService(c *gin.Context) {
	if !requireSuper(c) {
		return
	}
	data, ok := a.body(c)
	if !ok {
		return
	}
	req, err := validate.Service(data)
	if err != nil {
		respond.Error(c, err)
		return
	}
	s := store.Service{ID: ids.ObjectID(), Name: req.Name, Key: req.Key}
	err = a.deps.Store.CreateService(c.Request.Context(), s)
	if errors.Is(err, store.ErrDuplicate) {
		respond.Error(c, errs.BadRequest("Service name already exists"))
		return
	}
	if err != nil {
		a.fail(c, err, "create service")
		return
	}
	respond.JSON(c, toServiceJSON(s))
}

func (a *API) listServices(c *gin.Context) {
	if !requireSuper(c) {
		return
	}
	list, err := a.deps.Store.ListServices(c.Request.Context())
	if err != nil {
		a.fail(c, err, "list services")
		return
	}
	out := make([]serviceJSON, len(list))
	for i, s := range list {
		out[i] = toServiceJSON(s)
	}
	respond.JSON(c, out)
}

// getService is allowed to the super service and to the service itself.
func (a *API) getService(c *gin.Context) {
	id := c.Param("service")
	who := auth.FromContext(c)
	if !who.Super && who.Service.ID != id {
		respond.Error(c, errs.Permission())
		return
	}
	if !ids.IsObjectID(id) {
		respond.Error(c, errs.ServiceNotFound())
		return
	}
	s, err := a.deps.Store.GetService(c.Request.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		respond.Error(c, errs.ServiceNotFound())
		return
	}
	if err != nil {
		a.fail(c, err, "get service")
		return
	}
	respond.JSON(c, toServiceJSON(s))
}

// deleteService removes a service and its rooms, ending the rooms that are live.
func (a *API) deleteService(c *gin.Context) {
	if !requireSuper(c) {
		return
	}
	id := c.Param("service")
	if id == a.cfg.SuperServiceID {
		respond.Error(c, errs.New(http.StatusForbidden, errs.CodePermission, "Super service not permitted to be deleted"))
		return
	}
	ctx := c.Request.Context()
	s, err := a.deps.Store.GetService(ctx, id)
	if err == nil {
		err = a.deps.Store.DeleteService(ctx, id)
	}
	if errors.Is(err, store.ErrNotFound) {
		respond.Error(c, errs.ServiceNotFound())
		return
	}
	if err != nil {
		a.fail(c, err, "delete service")
		return
	}
	a.deps.Auth.Invalidate(id)
	if a.rooms != nil {
		a.rooms.Purge()
	}
	for _, roomID := range s.Rooms {
		a.destroyLive(ctx, roomID)
	}
	respond.Text(c, "Service deleted")
}
