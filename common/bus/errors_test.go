package bus_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/errs"
)

func TestBusTransportError(t *testing.T) {
	err := fmt.Errorf("join: %w", bus.NewTransportError("bus: call portal.join", bus.ErrTimeout, context.DeadlineExceeded))
	if !errors.Is(err, bus.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("errors.Is does not see the sentinel and the cause in %v", err)
	}
	if errors.Is(err, bus.ErrNoEndpoint) {
		t.Fatal("errors.Is matches the wrong sentinel")
	}
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.CodeCluster || e.Status != http.StatusInternalServerError {
		t.Fatalf("errors.As = %+v, want a 1201 cluster error", e)
	}
	if !errors.Is(err, errs.Cluster("")) {
		t.Fatal("errors.Is(err, errs.Cluster) is false")
	}
	if want := "bus: call portal.join: bus: rpc timeout: context deadline exceeded"; e.Message != want {
		t.Fatalf("message = %q, want %q", e.Message, want)
	}
}

func TestBusToError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want *errs.Error
	}{
		{"nil", nil, nil},
		{"remote typed", errs.RoomNotFound(), errs.RoomNotFound()},
		{"wrapped typed", fmt.Errorf("x: %w", errs.Permission()), errs.Permission()},
		{"transport", bus.NewTransportError("op", bus.ErrNoEndpoint, nil), errs.Cluster("op: bus: no such rpc endpoint")},
		{"bare sentinel", fmt.Errorf("op: %w", bus.ErrClosed), errs.Cluster("op: bus: closed")},
		{"plain", errors.New("boom"), errs.Unexpected("boom")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := bus.ToError(tc.err)
			if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
				t.Fatalf("ToError(%v) = %+v, want %+v", tc.err, got, tc.want)
			}
		})
	}
}
