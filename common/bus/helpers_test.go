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
