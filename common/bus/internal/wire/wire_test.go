package wire

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/errs"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestBusWireHandleRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		h       bus.Handler
		want    map[string]int
		wantErr *errs.Error
	}{
		{"result", func(context.Context, bus.Request) (any, error) { return map[string]int{"n": 1}, nil }, map[string]int{"n": 1}, nil},
		{"nil result", func(context.Context, bus.Request) (any, error) { return nil, nil }, nil, nil},
		{"typed error", func(context.Context, bus.Request) (any, error) { return nil, errs.StreamNotFound() }, nil, errs.StreamNotFound()},
		{"plain error", func(context.Context, bus.Request) (any, error) { return nil, errors.New("x") }, nil, errs.Unexpected("x")},
		{"panic", func(context.Context, bus.Request) (any, error) { panic("p") }, nil, errs.Unexpected("handler panicked")},
		{"unencodable", func(context.Context, bus.Request) (any, error) { return make(chan int), nil }, nil, errs.Unexpected("bus: cannot encode reply")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got map[string]int
			err := DecodeReply(Handle(context.Background(), quiet, tc.h, bus.Request{}), &got)
			var e *errs.Error
			switch {
			case tc.wantErr != nil && (!errors.As(err, &e) || *e != *tc.wantErr):
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			case tc.wantErr == nil && err != nil:
				t.Fatalf("error = %v", err)
			case len(got) != len(tc.want) || got["n"] != tc.want["n"]:
				t.Fatalf("result = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBusWireDeadline(t *testing.T) {
	d := time.UnixMilli(1_700_000_000_123)
	if got := ParseDeadline(FormatDeadline(d)); !got.Equal(d) {
		t.Fatalf("round trip = %v, want %v", got, d)
	}
	if got := time.Until(ParseDeadline("99999999999999")); got > MaxDeadline {
		t.Fatalf("far deadline not capped: %v away", got)
	}
	for _, bad := range []string{"", "x", "-5", "0", "99999999999999999999"} {
		got := time.Until(ParseDeadline(bad))
		if got <= 0 || got > bus.DefaultTimeout {
			t.Fatalf("ParseDeadline(%q) is %v away, want the default timeout", bad, got)
		}
	}
}

// FuzzBusWireDecode feeds arbitrary broker input (reply bodies, deadline headers) to the
// decoders: they must never panic, and a decoded error must be a complete *errs.Error.
func FuzzBusWireDecode(f *testing.F) {
	f.Add([]byte(`{"result":{"n":1}}`), "1700000000000")
	f.Add([]byte(`{"error":{"status":404,"code":1003,"message":"Room not found"}}`), "")
	f.Add([]byte(`{"error":null,"result":null}`), "-1")
	f.Add([]byte(`not json`), "1e9")
	f.Fuzz(func(t *testing.T, body []byte, deadline string) {
		_ = ParseDeadline(deadline)
		var out any
		err := DecodeReply(body, &out)
		var e *errs.Error
		if errors.As(err, &e) && e == nil {
			t.Fatal("nil *errs.Error returned as an error")
		}
	})
}
