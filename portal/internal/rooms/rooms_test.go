package rooms

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/store"
)

type fakeLeases struct {
	lease store.Lease
	err   error
}

func (f *fakeLeases) GetLease(context.Context, string) (store.Lease, error) { return f.lease, f.err }

type fakeSched struct{ ids []string }

func (f *fakeSched) Schedule(context.Context, string, string, store.Preference) (cluster.Worker, error) {
	if len(f.ids) == 0 {
		return cluster.Worker{}, cluster.ErrNoWorker
	}
	id := f.ids[0]
	f.ids = f.ids[1:]
	return cluster.Worker{ID: id}, nil
}

// fakeBus answers joins per target.
type fakeBus struct {
	answers map[string]error
	targets []string
	onCall  func(target string)
}

func (f *fakeBus) Call(_ context.Context, target, _ string, _, _ any) error {
	f.targets = append(f.targets, target)
	if f.onCall != nil {
		f.onCall(target)
	}
	return f.answers[target]
}

func TestRoomsJoin(t *testing.T) {
	live := store.Lease{Owner: "a1", Expires: time.Now().Add(time.Hour)}
	cases := []struct {
		name      string
		leases    *fakeLeases
		sched     []string
		answers   map[string]error
		wantAgent string
		wantErr   string
		targets   int
	}{
		{"lease owner", &fakeLeases{lease: live}, nil, nil, "a1", "", 1},
		{"no lease schedules", &fakeLeases{err: store.ErrNotFound}, []string{"a2"}, nil, "a2", "", 1},
		{"expired lease schedules", &fakeLeases{lease: store.Lease{Owner: "a1", Expires: time.Now().Add(-time.Second)}}, []string{"a2"}, nil, "a2", "", 1},
		{"not owner retries", &fakeLeases{err: store.ErrNotFound}, []string{"a2", "a3"},
			map[string]error{"a2": errs.Cluster(protocol.ErrNotOwner)}, "a3", "", 2},
		{"room error", &fakeLeases{lease: live}, nil, map[string]error{"a1": errs.BadRequest("Room is full")}, "", "Room is full", 1},
		{"no agent", &fakeLeases{err: store.ErrNotFound}, nil, nil, "", "No conference agent available", 0},
		{"store down", &fakeLeases{err: store.ErrUnavailable}, nil, nil, "", "rooms: lease of r: store: unavailable", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &fakeBus{answers: tc.answers}
			r := New(b, tc.leases, &fakeSched{ids: tc.sched}, Config{Schedule: 50 * time.Millisecond, Retry: time.Millisecond}, nil)
			agent, _, err := r.Join(context.Background(), protocol.JoinRequest{RoomID: "r"}, store.Preference{})
			if agent != tc.wantAgent || Message(err) != tc.wantErr || len(b.targets) != tc.targets {
				t.Fatalf("agent %q err %q (%v) targets %v", agent, Message(err), err, b.targets)
			}
		})
	}
}

func TestRoomsJoinRetriesVanishedLeaseOwner(t *testing.T) {
	leases := &fakeLeases{lease: store.Lease{Owner: "dead", Expires: time.Now().Add(time.Hour)}}
	b := &fakeBus{answers: map[string]error{"dead": bus.NewTransportError("call dead", bus.ErrNoEndpoint, nil)}}
	b.onCall = func(target string) {
		if target == "dead" {
			leases.lease = store.Lease{Owner: "alive", Expires: time.Now().Add(time.Hour)}
		}
	}
	r := New(b, leases, &fakeSched{}, Config{Retry: time.Millisecond}, nil)
	agent, _, err := r.Join(context.Background(), protocol.JoinRequest{RoomID: "r"}, store.Preference{})
	if err != nil || agent != "alive" {
		t.Fatalf("agent %q err %v", agent, err)
	}
}

func TestRoomsMessage(t *testing.T) {
	timeout := bus.NewTransportError("call x", bus.ErrTimeout, context.DeadlineExceeded)
	if got := Message(errors.Join(timeout)); got != "Timeout to make rpc to conference agent" {
		t.Fatal(got)
	}
	if got := Message(errs.BadRequest("Stream exists")); got != "Stream exists" {
		t.Fatal(got)
	}
	if !IsNotOwner(errs.Cluster(protocol.ErrNotOwner)) || IsNotOwner(timeout) {
		t.Fatal("IsNotOwner")
	}
}
