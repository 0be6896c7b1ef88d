// Package logging builds the slog logger of a Conclave process and carries per-request
// fields (room, participant, stream) in contexts.
package logging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// ErrInvalid reports an unknown level or format.
var ErrInvalid = errors.New("logging: invalid setting")

// Attribute keys shared by all components, so logs of one room can be grepped across
// processes.
const (
	KeyRoom        = "room"
	KeyParticipant = "participant"
	KeyStream      = "stream"
	KeyWorker      = "worker"
)

// New returns a logger writing to w at level ("debug", "info", "warn", "error") in format
// ("text" or "json"). Attributes stored in a context with With are added to every record
// logged with that context (InfoContext and friends).
func New(level, format string, w io.Writer) (*slog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("%w: log format %q is not text or json", ErrInvalid, format)
	}
	return slog.New(contextHandler{h}), nil
}

// Discard returns a logger that drops everything, for tests and optional loggers.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// ParseLevel converts a level name to a slog.Level.
func ParseLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	default:
		return 0, fmt.Errorf("%w: log level %q is not debug, info, warn or error", ErrInvalid, s)
	}
}

// Redact shortens a secret (key, token, password) for logs: its first four characters and
// "…", enough to tell two secrets apart without revealing them. Secrets shorter than 12
// characters give only "…"; the empty string stays empty.
func Redact(s string) string {
	switch {
	case s == "":
		return ""
	case utf8.RuneCountInString(s) < 12:
		return "…"
	default:
		head := []rune(s)[:4]
		return string(head) + "…"
	}
}

// ctxKey keys the attributes stored in a context.
type ctxKey struct{}

// With returns a context carrying attrs in addition to those ctx already carries; loggers
// made by New add them to records logged with the context.
func With(ctx context.Context, attrs ...slog.Attr) context.Context {
	if len(attrs) == 0 {
		return ctx
	}
	prev := Attrs(ctx)
	all := make([]slog.Attr, 0, len(prev)+len(attrs))
	all = append(append(all, prev...), attrs...)
	return context.WithValue(ctx, ctxKey{}, all)
}

// Attrs returns the attributes stored in ctx by With.
func Attrs(ctx context.Context) []slog.Attr {
	if ctx == nil {
		return nil
	}
	attrs, _ := ctx.Value(ctxKey{}).([]slog.Attr)
	return attrs
}

// contextHandler adds the context's attributes to each record.
type contextHandler struct{ slog.Handler }

// Handle implements slog.Handler.
func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if attrs := Attrs(ctx); len(attrs) > 0 {
		r = r.Clone()
		r.AddAttrs(attrs...)
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup implements slog.Handler.
func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

// LevelNames lists the accepted level names.
func LevelNames() []string { return strings.Fields("debug info warn error") }
