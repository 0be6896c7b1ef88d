package participant

import (
	"context"
	"sync"
	"testing"
	"time"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/common/protocol"
)

// DropEvent is how a Recorder records a `drop` notification.
type DropEvent struct{}

// Recorder keeps every notification a client received with its arrival time, so that a test
// can wait for one that matches regardless of what arrived before it.
type Recorder struct {
	mu   sync.Mutex
	evs  []any
	at   []time.Time
	more chan struct{}
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{more: make(chan struct{})} }

// Events are the callbacks to pass in rtc.Options.Events.
func (r *Recorder) Events() rtc.Events {
	return rtc.Events{
		Participant: func(ev protocol.ParticipantEvent) { r.add(ev) },
		Stream:      func(ev protocol.StreamEvent) { r.add(ev) },
		Text:        func(ev protocol.TextEvent) { r.add(ev) },
		Chat:        func(ev protocol.ChatEvent) { r.add(ev) },
		Drop:        func() { r.add(DropEvent{}) },
	}
}

func (r *Recorder) add(v any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, v)
	r.at = append(r.at, time.Now())
	close(r.more)
	r.more = make(chan struct{})
}

// Wait returns the first recorded event that matches, waiting for it until ctx ends (then
// it fails the test, listing what arrived).
func (r *Recorder) Wait(ctx context.Context, t testing.TB, what string, match func(any) bool) any {
	t.Helper()
	ev, _ := r.find(ctx, t, what, match)
	return ev
}

// WaitAt is Wait returning the arrival time of the event.
func (r *Recorder) WaitAt(ctx context.Context, t testing.TB, what string, match func(any) bool) time.Time {
	t.Helper()
	_, at := r.find(ctx, t, what, match)
	return at
}

func (r *Recorder) find(ctx context.Context, t testing.TB, what string, match func(any) bool) (any, time.Time) {
	t.Helper()
	seen := 0
	for {
		r.mu.Lock()
		evs, at, more := r.evs, r.at, r.more
		r.mu.Unlock()
		for ; seen < len(evs); seen++ {
			if match(evs[seen]) {
				return evs[seen], at[seen]
			}
		}
		select {
		case <-more:
		case <-ctx.Done():
			t.Fatalf("no %s: %v; received %+v", what, ctx.Err(), evs)
			return nil, time.Time{}
		}
	}
}

// StreamEvent matches a stream event of status about stream id.
func StreamEvent(status, id string) func(any) bool {
	return func(v any) bool {
		ev, ok := v.(protocol.StreamEvent)
		return ok && ev.Status == status && ev.ID == id
	}
}

// StatusUpdate matches the stream update of field (audio.status, video.status) to value.
func StatusUpdate(id, field, value string) func(any) bool {
	return func(v any) bool {
		ev, ok := v.(protocol.StreamEvent)
		if !ok || ev.Status != "update" || ev.ID != id {
			return false
		}
		u, ok := ev.Data.(protocol.StreamUpdate)
		return ok && u.Field == field && u.Value == value
	}
}

// IsDrop matches a drop notification.
func IsDrop(v any) bool { _, ok := v.(DropEvent); return ok }

// Changed returns a channel closed when the next notification is recorded.
func (r *Recorder) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.more
}
