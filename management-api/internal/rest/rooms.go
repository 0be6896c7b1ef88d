package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/management-api/internal/auth"
	"github.com/conclave-rtc/conclave/management-api/internal/respond"
	"github.com/conclave-rtc/conclave/management-api/internal/validate"
)

// roomKey is the gin context key of the room loadRoom found.
const roomKey = "conclave.room"

func currentRoom(c *gin.Context) room.Room {
	v, _ := c.Get(roomKey)
	r, _ := v.(room.Room)
	return r
}

func cacheKey(serviceID, roomID string) string { return serviceID + "/" + roomID }

// loadRoom finds the :room of the authenticated service (404/1003 otherwise, also for ids
// that break OWT's id pattern) and stores it for the handlers.
func (a *API) loadRoom(c *gin.Context) {
	id := c.Param("room")
	if !validate.PathID(id) {
		respond.Error(c, errs.RoomNotFound())
		return
	}
	r, err := a.room(c.Request.Context(), auth.FromContext(c).Service.ID, id)
	if err != nil {
		a.fail(c, err, "load room")
		return
	}
	c.Set(roomKey, r)
	c.Next()
}

// room returns a room of a service through the cache.
func (a *API) room(ctx context.Context, serviceID, roomID string) (room.Room, error) {
	key := cacheKey(serviceID, roomID)
	if a.rooms != nil {
		if v, err := a.rooms.Get(key); err == nil {
			return v.(room.Room), nil
		}
	}
	rec, err := a.deps.Store.GetRoom(ctx, serviceID, roomID)
	if errors.Is(err, store.ErrNotFound) {
		return room.Room{}, errs.RoomNotFound()
	}
	if err != nil {
		return room.Room{}, err
	}
	r, err := room.Parse(rec.Config)
	if err != nil {
		return room.Room{}, fmt.Errorf("stored room %s: %w", roomID, err)
	}
	r.ID = rec.ID
	if a.rooms != nil {
		_ = a.rooms.Set(key, r)
	}
	return r, nil
}

func (a *API) forgetRoom(serviceID, roomID string) {
	if a.rooms != nil {
		a.rooms.Remove(cacheKey(serviceID, roomID))
	}
}

func (a *API) createRoom(c *gin.Context) {
	data, ok := a.body(c)
	if !ok {
		return
	}
	r, err := room.ParseCreate(data)
	if err != nil {
		respond.Error(c, err)
		return
	}
	r.ID = ids.ObjectID()
	rec := store.Room{ID: r.ID, ServiceID: auth.FromContext(c).Service.ID, Config: r.Config()}
	if err := a.deps.Store.CreateRoom(c.Request.Context(), rec); err != nil {
		a.fail(c, storeNotFound(err, errs.ServiceNotFound()), "create room")
		return
	}
	respond.JSON(c, r)
}

// storeNotFound maps store.ErrNotFound to nf and leaves other errors alone.
func storeNotFound(err error, nf *errs.Error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nf
	}
	return err
}

func (a *API) listRooms(c *gin.Context) {
	skip, limit, err := validate.Page(c.Query("page"), c.Query("per_page"))
	if err != nil {
		respond.Error(c, err)
		return
	}
	recs, err := a.deps.Store.ListRooms(c.Request.Context(), auth.FromContext(c).Service.ID, skip, limit)
	if err != nil {
		a.fail(c, err, "list rooms")
		return
	}
	// The stored configuration is the canonical room JSON (room.Room.Config): the list is
	// those bytes wrapped with the ids, without parsing a room (OWT: no paging parameters →
	// every room).
	size := 2
	for _, rec := range recs {
		size += len(rec.Config) + 2*len(rec.ID) + 32
	}
	out := append(make([]byte, 0, size), '[')
	for i, rec := range recs {
		if i > 0 {
			out = append(out, ',')
		}
		if !ids.IsObjectID(rec.ID) {
			a.fail(c, fmt.Errorf("stored room id %q", rec.ID), "list rooms")
			return
		}
		if out, err = room.AppendREST(out, rec.ID, rec.Config); err != nil {
			a.fail(c, err, "list rooms")
			return
		}
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", append(out, ']'))
}

func (a *API) getRoom(c *gin.Context) { respond.JSON(c, currentRoom(c)) }

// updateRoom serves PUT and PATCH alike: a partial top-level merge (OWT's PATCH always
// failed with a 500).
func (a *API) updateRoom(c *gin.Context) {
	data, ok := a.body(c)
	if !ok {
		return
	}
	cur := currentRoom(c)
	r, err := room.ParseUpdate(cur, data)
	if err != nil {
		respond.Error(c, err)
		return
	}
	serviceID := auth.FromContext(c).Service.ID
	a.forgetRoom(serviceID, cur.ID)
	rec := store.Room{ID: cur.ID, ServiceID: serviceID, Config: r.Config()}
	if err := a.deps.Store.UpdateRoom(c.Request.Context(), rec); err != nil {
		a.fail(c, storeNotFound(err, errs.RoomNotFound()), "update room")
		return
	}
	a.forgetRoom(serviceID, cur.ID)
	respond.JSON(c, r)
}

// deleteRoom removes the room and ends its conference if it is live.
func (a *API) deleteRoom(c *gin.Context) {
	cur := currentRoom(c)
	serviceID := auth.FromContext(c).Service.ID
	ctx := c.Request.Context()
	a.forgetRoom(serviceID, cur.ID)
	if err := a.deps.Store.DeleteRoom(ctx, serviceID, cur.ID); err != nil {
		a.fail(c, storeNotFound(err, errs.RoomNotFound()), "delete room")
		return
	}
	a.forgetRoom(serviceID, cur.ID)
	a.destroyLive(ctx, cur.ID)
	respond.Text(c, "Room deleted")
}

// destroyLive asks the owner of a live room to end it; a room that is not live, or an owner
// that does not answer, is only logged (its lease expires on its own).
func (a *API) destroyLive(ctx context.Context, roomID string) {
	owner, live, err := a.owner(ctx, roomID)
	if err != nil || !live {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.CallTimeout)
	defer cancel()
	err = a.deps.Bus.Call(ctx, owner, protocol.MethodRoomDestroy, protocol.RoomRequest{RoomID: roomID}, nil)
	if err != nil {
		a.deps.Log.Warn("destroying live room failed", "room", roomID, "err", err)
	}
}
