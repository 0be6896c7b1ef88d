// Package notify delivers a room's client events to the portals holding its participants
// (conference agent → portal, protocol.PortalNotice on protocol.PortalTopic(portalID)).
//
// Each live room has one Queue: notices are encoded when sent, kept in a bounded FIFO and
// published by one goroutine, so a room's events reach every portal in the order the room
// produced them and a slow bus never blocks the room's lock.
package notify

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// DefaultSize is the number of notices a room may have waiting for the bus.
const DefaultSize = 1024

// publishTimeout bounds one bus publication.
const publishTimeout = 2 * time.Second

// Publisher is the part of the bus a Queue needs.
type Publisher interface {
	Publish(ctx context.Context, topic string, msg any) error
}

var _ Publisher = (bus.Bus)(nil)

// notice is one queued publication.
type notice struct {
	portal string
	msg    protocol.PortalNotice
}

// Queue is one room's ordered, bounded notice queue. Send never blocks; Run publishes.
type Queue struct {
	pub     Publisher
	roomID  string
	log     *slog.Logger
	items   chan notice
	dropped atomic.Uint64

	closeOnce sync.Once
	closed    chan struct{}
}

// New returns a queue for roomID holding at most size notices (size <= 0: DefaultSize).
func New(pub Publisher, roomID string, size int, log *slog.Logger) *Queue {
	if size <= 0 {
		size = DefaultSize
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Queue{pub: pub, roomID: roomID, log: log, items: make(chan notice, size), closed: make(chan struct{})}
}

// Notify queues event (data JSON-encoded now, nil for none) for participants held by portal.
// When the queue is full the notice is dropped and counted: a room must never block on a
// stuck bus.
func (q *Queue) Notify(portal string, participants []string, event string, data any) {
	if portal == "" || len(participants) == 0 {
		return
	}
	var raw json.RawMessage
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			q.log.Error("notice not encodable", "room", q.roomID, "event", event, "err", err)
			return
		}
		raw = b
	}
	n := notice{portal: portal, msg: protocol.PortalNotice{
		RoomID: q.roomID, Participants: append([]string(nil), participants...), Event: event, Data: raw,
	}}
	select {
	case <-q.closed:
		return
	default:
	}
	select {
	case q.items <- n:
	default:
		q.dropped.Add(1)
		q.log.Warn("notice queue full, dropping", "room", q.roomID, "event", event, "portal", portal)
	}
}

// Dropped returns how many notices were dropped because the queue was full.
func (q *Queue) Dropped() uint64 { return q.dropped.Load() }

// Close stops accepting notices; Run publishes what is queued and returns.
func (q *Queue) Close() { q.closeOnce.Do(func() { close(q.closed) }) }

// Run publishes queued notices in order until Close, then publishes what is left and returns.
// Cancelling ctx does not stop it (the room's last notices, such as `drop` when the agent
// stops, must still go out); ctx only carries values.
func (q *Queue) Run(ctx context.Context) {
	for {
		select {
		case n := <-q.items:
			q.publish(ctx, n)
		case <-q.closed:
			q.drain(ctx)
			return
		}
	}
}

// drain publishes what is left after Close.
func (q *Queue) drain(ctx context.Context) {
	for {
		select {
		case n := <-q.items:
			q.publish(ctx, n)
		default:
			return
		}
	}
}

func (q *Queue) publish(ctx context.Context, n notice) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if err := q.pub.Publish(ctx, protocol.PortalTopic(n.portal), n.msg); err != nil {
		q.log.Warn("notice not published", "room", q.roomID, "portal", n.portal, "event", n.msg.Event, "err", err)
	}
}
