package notify

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// recorder is a Publisher that records publications, optionally blocking until released.
type recorder struct {
	mu      sync.Mutex
	topics  []string
	notices []protocol.PortalNotice
	gate    chan struct{}
}

func (r *recorder) Publish(_ context.Context, topic string, msg any) error {
	if r.gate != nil {
		<-r.gate
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.topics = append(r.topics, topic)
	r.notices = append(r.notices, msg.(protocol.PortalNotice))
	return nil
}

func TestNotifyOrderAndShape(t *testing.T) {
	rec := &recorder{}
	q := New(rec, "room1", 0, nil)
	done := make(chan struct{})
	go func() { defer close(done); q.Run(context.Background()) }()
	for i := range 50 {
		q.Notify("portal-1", []string{"a", "b"}, protocol.EventText, map[string]int{"n": i})
	}
	q.Notify("", []string{"a"}, protocol.EventText, nil) // no portal: nothing to send
	q.Notify("portal-2", []string{"c"}, protocol.EventDrop, nil)
	q.Close()
	<-done
	if len(rec.notices) != 51 {
		t.Fatalf("published %d notices", len(rec.notices))
	}
	for i := range 50 {
		var d map[string]int
		if err := json.Unmarshal(rec.notices[i].Data, &d); err != nil || d["n"] != i || rec.topics[i] != "portal.portal-1" {
			t.Fatalf("notice %d = %+v on %s", i, rec.notices[i], rec.topics[i])
		}
	}
	last := rec.notices[50]
	if rec.topics[50] != "portal.portal-2" || last.Event != protocol.EventDrop || last.Data != nil || last.RoomID != "room1" {
		t.Fatalf("drop notice = %+v", last)
	}
}

func TestNotifyBounded(t *testing.T) {
	rec := &recorder{gate: make(chan struct{})}
	q := New(rec, "room1", 2, nil)
	done := make(chan struct{})
	go func() { defer close(done); q.Run(context.Background()) }()
	for range 10 {
		q.Notify("p", []string{"a"}, protocol.EventText, "x")
	}
	if q.Dropped() < 7 {
		t.Fatalf("dropped %d of 10 with room for 2 (+1 in flight)", q.Dropped())
	}
	close(rec.gate)
	q.Close()
	<-done
}
