package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

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
	r, err := fromRecord(rec)
	if err != nil {
		return room.Room{}, err
	}
	if a.rooms != nil {
		_ = a.rooms.Set(key, r)
	}
	return r, nil
}

// fromRecord parses a stored room.
func fromRecord(rec store.Room) (room.Room, error) {
	r, err := room.Parse(rec.Config)
	if err != nil {
		return room.Room{}, fmt.Errorf("stored room %s: %w", rec.ID, err)
	}
	r.ID, r.Path, r.Pool = rec.ID, rec.Path, rec.Pool
	return r, nil
}

// toRecord is the store record of a room of the service.
func toRecord(serviceID string, r room.Room) store.Room {
	return store.Room{ID: r.ID, ServiceID: serviceID, Config: r.Config(), Path: r.Path, Pool: r.Pool}
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
	rec := toRecord(auth.FromContext(c).Service.ID, r)
	if err := a.deps.Store.CreateRoom(c.Request.Context(), rec); err != nil {
		a.fail(c, storeNotFound(pathTaken(err), errs.ServiceNotFound()), "create room")
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

// listRooms lists the service's rooms, or with ?path= answers the room with that path.
func (a *API) listRooms(c *gin.Context) {
	if path, ok := c.GetQuery("path"); ok {
		a.roomByPath(c, path)
		return
	}
	skip, limit, err := validate.Page(c.Query("page"), c.Query("per_page"))
	if err != nil {
		respond.Error(c, err)
		return
	}
	// The stored configuration is the canonical room JSON (room.Room.Config): the list is
	// those bytes wrapped with the ids, without parsing a room (OWT: no paging parameters →
	// every room). A store that can show its rooms in place (store.RoomVisitor) is read
	// without a copy per room, into a pooled buffer.
	buf := listBuffers.Get().(*[]byte)
	defer putListBuffer(buf)
	out := append((*buf)[:0], '[')
	first := true
	add := func(r store.Room) error {
		if !ids.IsObjectID(r.ID) {
			return fmt.Errorf("stored room id %q", r.ID)
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		var err error
		out, err = room.AppendREST(out, room.Ref{ID: r.ID, Path: r.Path, Pool: r.Pool}, r.Config)
		return err
	}
	service := auth.FromContext(c).Service.ID
	if v, ok := a.deps.Store.(store.RoomVisitor); ok {
		err = v.VisitRooms(c.Request.Context(), service, skip, limit, add)
	} else {
		var recs []store.Room
		if recs, err = a.deps.Store.ListRooms(c.Request.Context(), service, skip, limit); err == nil {
			for _, rec := range recs {
				if err = add(rec); err != nil {
					break
				}
			}
		}
	}
	if err != nil {
		a.fail(c, err, "list rooms")
		return
	}
	out = append(out, ']')
	*buf = out
	c.Data(http.StatusOK, "application/json; charset=utf-8", out)
}

// listBuffers recycles room-list answers (a page of 100 default rooms is ~240 KB), so lists
// do not make the garbage collector run for every request.
var listBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// putListBuffer returns a buffer to the pool unless it grew beyond what is worth keeping.
func putListBuffer(b *[]byte) {
	if cap(*b) <= 8<<20 {
		listBuffers.Put(b)
	}
}

func (a *API) getRoom(c *gin.Context) { respond.JSON(c, currentRoom(c)) }

// updateRoom serves PUT and PATCH alike: a partial top-level merge (OWT's PATCH always
// failed with a 500).
func (a *API) updateRoom(c *gin.Context) {
	data, ok := a.body(c)
	if !ok {
		return
	}
	serviceID := auth.FromContext(c).Service.ID
	// The update starts from the stored room, not a cached copy: a claim or release made
	// through another instance within the cache's TTL changed the path, which an update that
	// does not name it must keep.
	a.forgetRoom(serviceID, currentRoom(c).ID)
	cur, err := a.room(c.Request.Context(), serviceID, currentRoom(c).ID)
	if err != nil {
		a.fail(c, err, "update room")
		return
	}
	r, err := room.ParseUpdate(cur, data)
	if err != nil {
		respond.Error(c, err)
		return
	}
	a.forgetRoom(serviceID, cur.ID)
	if err := a.deps.Store.UpdateRoom(c.Request.Context(), toRecord(serviceID, r)); err != nil {
		a.fail(c, storeNotFound(pathTaken(err), errs.RoomNotFound()), "update room")
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
