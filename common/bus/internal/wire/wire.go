// Package wire holds the message encoding shared by the bus implementations, so the in-process
// bus and RabbitMQ put exactly the same bytes on the "wire".
package wire

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/errs"
)

// MaxInFlight bounds concurrent handler calls per Serve registration.
const MaxInFlight = 64

// Reply is the envelope of every RPC reply: exactly one of Result and Error is set.
type Reply struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  *errs.Error     `json:"error,omitempty"`
}

// Encode marshals a request or event body.
func Encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("bus: encode body: %w", err)
	}
	return b, nil
}

// Deadline returns ctx's deadline, or now+bus.DefaultTimeout when it has none.
func Deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(bus.DefaultTimeout)
}

// FormatDeadline renders a deadline as Unix milliseconds for a message header.
func FormatDeadline(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// MaxDeadline caps how far in the future a received deadline may lie.
const MaxDeadline = 10 * time.Minute

// ParseDeadline reads a deadline written by FormatDeadline. A missing or malformed value
// yields now+bus.DefaultTimeout, and a value beyond now+MaxDeadline is capped, so a foreign
// sender cannot make a handler run unbounded.
func ParseDeadline(s string) time.Time {
	now := time.Now()
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms <= 0 {
		return now.Add(bus.DefaultTimeout)
	}
	if limit := now.Add(MaxDeadline); ms > limit.UnixMilli() {
		return limit
	}
	return time.UnixMilli(ms)
}

// Handle runs h on req with panic recovery and returns the encoded Reply. Only the method
// name is ever logged, never a body.
func Handle(ctx context.Context, log *slog.Logger, h bus.Handler, req bus.Request) []byte {
	result, err := invoke(ctx, log, h, req)
	if err != nil {
		return encodeReply(Reply{Error: errs.As(err)})
	}
	body, merr := json.Marshal(result)
	if merr != nil {
		log.Error("bus: cannot encode rpc reply", "method", req.Method, "err", merr)
		return encodeReply(Reply{Error: errs.Unexpected("bus: cannot encode reply")})
	}
	return encodeReply(Reply{Result: body})
}

func invoke(ctx context.Context, log *slog.Logger, h bus.Handler, req bus.Request) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("bus: rpc handler panicked", "method", req.Method, "panic", fmt.Sprint(p),
				"stack", string(debug.Stack()))
			result, err = nil, errs.Unexpected("handler panicked")
		}
	}()
	return h(ctx, req)
}

func encodeReply(r Reply) []byte {
	b, err := json.Marshal(r)
	if err != nil { // unreachable: Reply holds only valid JSON and plain fields
		return []byte(`{"error":{"status":500,"code":2001,"message":"bus: cannot encode reply"}}`)
	}
	return b
}

// DecodeReply unpacks an encoded Reply: a remote error is returned as *errs.Error, a result
// is unmarshalled into resp (skipped when resp is nil).
func DecodeReply(data []byte, resp any) error {
	var r Reply
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("bus: decode reply: %w", err)
	}
	if r.Error != nil {
		return r.Error
	}
	if resp == nil || len(r.Result) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.Result, resp); err != nil {
		return fmt.Errorf("bus: decode reply result: %w", err)
	}
	return nil
}

// Deliver runs an event handler with panic recovery, so one bad event does not stop the
// subscription's delivery goroutine.
func Deliver(ctx context.Context, log *slog.Logger, h bus.EventHandler, ev bus.Event) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("bus: event handler panicked", "topic", ev.Topic, "panic", fmt.Sprint(p),
				"stack", string(debug.Stack()))
		}
	}()
	h(ctx, ev)
}
