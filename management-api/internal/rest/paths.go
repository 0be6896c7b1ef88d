package rest

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/room"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/management-api/internal/auth"
	"github.com/conclave-rtc/conclave/management-api/internal/respond"
	"github.com/conclave-rtc/conclave/management-api/internal/validate"
)

// Rooms by path and the room pool, a Conclave extension (the getRoomId / claimRoom /
// createRoom flow of an app server that maps page URLs to rooms): GET /v1/rooms?path=,
// POST /v1/rooms/claim {"path"} and POST /v1/rooms/{id}/release. Paths and pool flags are set
// on create and update (package room); the store makes paths unique per service and claims
// atomic.

// msgPathTaken answers a create or update whose path another room of the service has, as a
// duplicate service name is answered (400/1301).
const msgPathTaken = "Room path already exists"

// msgPoolEmpty answers a claim when no room of the service is claimable.
const msgPoolEmpty = "Room not found: no unclaimed room in the pool"

// pathTaken maps store.ErrPathTaken to a 400/1301 and leaves other errors alone.
func pathTaken(err error) error {
	if errors.Is(err, store.ErrPathTaken) {
		return errs.BadRequest(msgPathTaken)
	}
	return err
}

// roomByPath answers the service's room with that path, as GET /v1/rooms/{id} does.
func (a *API) roomByPath(c *gin.Context, path string) {
	if err := room.CheckPath("path", path); err != nil {
		respond.Error(c, err)
		return
	}
	rec, err := a.deps.Store.GetRoomByPath(c.Request.Context(), auth.FromContext(c).Service.ID, path)
	a.answerRecord(c, rec, storeNotFound(err, errs.RoomNotFound()), "room by path")
}

// claimRoom answers the room with the body's path, giving the path to a room of the pool when
// no room has it; 404/1003 when the pool is empty.
func (a *API) claimRoom(c *gin.Context) {
	data, ok := a.body(c)
	if !ok {
		return
	}
	path, err := validate.Claim(data)
	if err != nil {
		respond.Error(c, err)
		return
	}
	serviceID := auth.FromContext(c).Service.ID
	rec, err := a.deps.Store.ClaimRoom(c.Request.Context(), serviceID, path)
	if err == nil {
		a.forgetRoom(serviceID, rec.ID)
	}
	notFound := errs.New(http.StatusNotFound, errs.CodeRoomNotFound, msgPoolEmpty)
	a.answerRecord(c, rec, storeNotFound(err, notFound), "claim room")
}

// releaseRoom removes the room's path and returns it to the pool. Participants of a live room
// stay: the application decides when a room is free.
func (a *API) releaseRoom(c *gin.Context) {
	cur := currentRoom(c)
	serviceID := auth.FromContext(c).Service.ID
	a.forgetRoom(serviceID, cur.ID)
	rec, err := a.deps.Store.ReleaseRoom(c.Request.Context(), serviceID, cur.ID)
	a.forgetRoom(serviceID, cur.ID)
	a.answerRecord(c, rec, storeNotFound(err, errs.RoomNotFound()), "release room")
}

// answerRecord answers the REST shape of rec, or err.
func (a *API) answerRecord(c *gin.Context, rec store.Room, err error, what string) {
	if err != nil {
		a.fail(c, err, what)
		return
	}
	r, err := fromRecord(rec)
	if err != nil {
		a.fail(c, err, what)
		return
	}
	respond.JSON(c, r)
}
