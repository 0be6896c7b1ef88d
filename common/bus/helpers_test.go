package bus_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/bus/local"
	"github.com/conclave-rtc/conclave/common/errs"
)

func TestBusCallWithinAndSubscribeJSON(t *testing.T) {
	b := local.New(local.NewHub(local.Config{}))
	defer b.Close()
	sub, err := b.Serve("svc", func(context.Context, bus.Request) (any, error) { return nil, errs.RoomNotFound() })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	err = bus.CallWithin(context.Background(), b, time.Second, "svc", "m", struct{}{}, nil)
	if !errors.Is(err, errs.RoomNotFound()) || !strings.HasPrefix(err.Error(), "m on svc: ") {
		t.Fatalf("CallWithin error = %v", err)
	}

	type msg struct{ ID string }
	got := make(chan msg, 2)
	s2, err := bus.SubscribeJSON(b, "ev.x", func(m msg) bool { return m.ID != "" }, nil, func(m msg) { got <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, m := range []any{"not an object", msg{}, msg{ID: "a"}} {
		if err := b.Publish(context.Background(), "ev.x", m); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case m := <-got:
		if m.ID != "a" {
			t.Fatalf("delivered %+v, want only the valid event", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("valid event not delivered")
	}
}

func TestBusHandleAs(t *testing.T) {
	type req struct{ ID string }
	echo := func(r req) (any, error) {
		if r.ID == "" {
			return nil, errors.New("no id")
		}
		return "got " + r.ID, nil
	}
	typed := func(err error) error { return errs.Cluster("typed: " + err.Error()) }

	res, err := bus.HandleAs(bus.Request{Method: "x.get", Body: []byte(`{"ID":"7"}`)}, echo, typed)
	if err != nil || res != "got 7" {
		t.Fatalf("HandleAs = %v, %v", res, err)
	}
	var e *errs.Error
	_, err = bus.HandleAs(bus.Request{Method: "x.get", Body: []byte(`{"ID":`)}, echo, typed)
	if !errors.As(err, &e) || e.Status != 400 || !strings.HasPrefix(e.Message, "invalid x.get request: ") {
		t.Fatalf("undecodable body: %v", err)
	}
	_, err = bus.HandleAs(bus.Request{Method: "x.get", Body: []byte(`{}`)}, echo, typed)
	if !errors.As(err, &e) || e.Code != errs.CodeCluster || e.Message != "typed: no id" {
		t.Fatalf("typed error: %v", err)
	}
	_, err = bus.HandleAs(bus.Request{Method: "x.get", Body: []byte(`{}`)}, echo, nil)
	if err == nil || err.Error() != "no id" || errors.As(err, &e) {
		t.Fatalf("untyped error: %v", err)
	}
}
