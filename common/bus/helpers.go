package bus

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/conclave-rtc/conclave/common/errs"
)

// CallWithin is Call bounded by timeout (or ctx's earlier deadline); a failure names the
// method and target and keeps the remote *errs.Error in its chain.
func CallWithin(ctx context.Context, b Bus, timeout time.Duration, target, method string, req, resp any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := b.Call(ctx, target, method, req, resp); err != nil {
		return fmt.Errorf("%s on %s: %w", method, target, err)
	}
	return nil
}

// SubscribeJSON delivers the events on topic, decoded into T, to h in order. Events that do
// not decode or that valid rejects are logged (log may be nil) and skipped.
func SubscribeJSON[T any](b Bus, topic string, valid func(T) bool, log *slog.Logger, h func(T)) (Subscription, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return b.Subscribe(topic, func(_ context.Context, ev Event) {
		var v T
		if err := ev.Decode(&v); err != nil || !valid(v) {
			log.Warn("ignoring malformed event", "topic", ev.Topic, "err", err)
			return
		}
		h(v)
	})
}

// HandleAs is the body of one case of an RPC endpoint: it decodes req's body into a T and
// calls f. A body that does not decode is a 400 naming the method; an error of f goes through
// typeErr (which types it for the caller) unless typeErr is nil.
func HandleAs[T any](req Request, f func(T) (any, error), typeErr func(error) error) (any, error) {
	var v T
	if err := req.Decode(&v); err != nil {
		return nil, errs.BadRequestf("invalid %s request: %v", req.Method, err)
	}
	res, err := f(v)
	if err != nil {
		if typeErr != nil {
			err = typeErr(err)
		}
		return nil, err
	}
	return res, nil
}
