package rest

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/store"
	"github.com/conclave-rtc/conclave/management-api/internal/respond"
	"github.com/conclave-rtc/conclave/management-api/internal/validate"
)

// errNotLive means the room has no live conference agent.
var errNotLive = errors.New("rest: room is not live")

// liveKind describes one live sub-resource of a room and the RPCs behind its routes. An empty
// method name means the route does not exist.
type liveKind struct {
	path     string
	notFound func() *errs.Error
	list     string
	get      string
	update   string
	remove   string
	add      string
	// parseUpdate validates a PATCH body.
	parseUpdate func([]byte) ([]protocol.PatchOp, error)
	// parseAdd validates a POST body and builds the RPC request for roomID.
	parseAdd func(data []byte, roomID string) (any, error)
	// startIdle: a POST on a room that is not live schedules a conference agent for it
	// (streaming-in); otherwise such a POST refers to streams that cannot exist (404/1004).
	startIdle bool
}

// liveKinds lists every live sub-resource.
func liveKinds() []liveKind {
	return []liveKind{participants(), streams(), streamingIns(), streamingOuts(), recordings(),
		sipCalls(), analytics()}
}

func (a *API) registerLive(g *gin.RouterGroup, k liveKind) {
	base := "/" + k.path
	one := base + "/:item"
	if k.list != "" {
		g.GET(base, a.liveList(k))
	}
	if k.add != "" {
		g.POST(base, a.liveAdd(k))
	}
	if k.get != "" {
		g.GET(one, a.liveItem(k, k.get, nil))
	}
	if k.update != "" {
		g.PATCH(one, a.liveItem(k, k.update, k.parseUpdate))
	}
	if k.remove != "" {
		g.DELETE(one, a.liveItem(k, k.remove, nil))
	}
}

// owner returns the conference agent owning a live room: the holder of its unexpired lease.
func (a *API) owner(ctx context.Context, roomID string) (string, bool, error) {
	l, err := a.deps.Store.GetLease(ctx, protocol.LeaseName(roomID))
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if !l.Expires.After(a.deps.Now()) || l.Owner == "" {
		return "", false, nil
	}
	return l.Owner, true, nil
}

// call sends an RPC to a conference agent. A vanished endpoint is errNotLive; remote
// *errs.Error values pass through; anything else is 500/1201.
func (a *API) call(ctx context.Context, owner, method string, timeout time.Duration, req, resp any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := a.deps.Bus.Call(ctx, owner, method, req, resp)
	var e *errs.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bus.ErrNoEndpoint):
		return errNotLive
	case errors.As(err, &e):
		return err
	}
	a.deps.Log.Warn("conference agent call failed", "method", method, "err", err)
	return errs.Cluster("Failed to call conference agent")
}

// callLive calls method on the room's owner; errNotLive when there is none.
func (a *API) callLive(ctx context.Context, roomID, method string, timeout time.Duration, req, resp any) error {
	owner, live, err := a.owner(ctx, roomID)
	if err != nil {
		return err
	}
	if !live {
		return errNotLive
	}
	return a.call(ctx, owner, method, timeout, req, resp)
}

func (a *API) liveList(k liveKind) gin.HandlerFunc {
	return func(c *gin.Context) {
		roomID := currentRoom(c).ID
		var out []json.RawMessage
		err := a.callLive(c.Request.Context(), roomID, k.list, a.cfg.CallTimeout,
			protocol.RoomRequest{RoomID: roomID}, &out)
		if err != nil && !errors.Is(err, errNotLive) {
			a.fail(c, err, "list "+k.path)
			return
		}
		if out == nil {
			out = []json.RawMessage{}
		}
		respond.JSON(c, out)
	}
}

// liveItem serves GET, PATCH (parse != nil) and DELETE of one item.
func (a *API) liveItem(k liveKind, method string, parse func([]byte) ([]protocol.PatchOp, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.Param("item")
		if !validate.PathID(id) {
			respond.Error(c, k.notFound())
			return
		}
		roomID := currentRoom(c).ID
		var req any = protocol.ItemRequest{RoomID: roomID, ID: id}
		if parse != nil {
			ops, ok := a.parseOps(c, parse)
			if !ok {
				return
			}
			req = protocol.ItemUpdate{RoomID: roomID, ID: id, Ops: ops}
		}
		var out json.RawMessage
		err := a.callLive(c.Request.Context(), roomID, method, a.cfg.CallTimeout, req, &out)
		a.answerItem(c, k, err, out)
	}
}

func (a *API) parseOps(c *gin.Context, parse func([]byte) ([]protocol.PatchOp, error)) ([]protocol.PatchOp, bool) {
	data, ok := a.body(c)
	if !ok {
		return nil, false
	}
	ops, err := parse(data)
	if err != nil {
		respond.Error(c, err)
		return nil, false
	}
	return ops, true
}

// answerItem writes an item reply: the agent's JSON, or an empty 200 for a DELETE.
func (a *API) answerItem(c *gin.Context, k liveKind, err error, out json.RawMessage) {
	switch {
	case errors.Is(err, errNotLive):
		respond.Error(c, k.notFound())
	case err != nil:
		a.fail(c, err, c.Request.Method+" "+k.path)
	case c.Request.Method == "DELETE" || len(out) == 0:
		respond.Empty(c)
	default:
		c.Data(200, "application/json; charset=utf-8", out)
	}
}

func (a *API) liveAdd(k liveKind) gin.HandlerFunc {
	return func(c *gin.Context) {
		data, ok := a.body(c)
		if !ok {
			return
		}
		roomID := currentRoom(c).ID
		req, err := k.parseAdd(data, roomID)
		if err != nil {
			respond.Error(c, err)
			return
		}
		var out json.RawMessage
		err = a.callLive(c.Request.Context(), roomID, k.add, a.cfg.AddTimeout, req, &out)
		if errors.Is(err, errNotLive) {
			err = errs.StreamNotFound()
			if k.startIdle {
				err = a.startAndCall(c.Request.Context(), roomID, k.add, req, &out)
			}
		}
		a.answerItem(c, k, err, out)
	}
}

// startAndCall schedules a conference agent for a room that is not live and sends it the
// request; the agent takes the room's lease when it accepts.
func (a *API) startAndCall(ctx context.Context, roomID, method string, req, resp any) error {
	sctx, cancel := context.WithTimeout(ctx, a.cfg.ScheduleTimeout)
	w, err := a.deps.Scheduler.Schedule(sctx, "conference", roomID, a.cfg.DefaultPreference)
	cancel()
	if err != nil {
		if !errors.Is(err, cluster.ErrNoWorker) {
			a.deps.Log.Warn("scheduling a conference agent failed", "room", roomID, "err", err)
		}
		return errs.Cluster("Failed to schedule conference agent")
	}
	err = a.call(ctx, w.ID, method, a.cfg.AddTimeout, req, resp)
	if errors.Is(err, errNotLive) {
		return errs.Cluster("Failed to call conference agent")
	}
	return err
}
