// Package pionlog routes pion's leveled logs (ICE, DTLS, TURN…) to the agent's injected slog
// logger.
package pionlog

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// Factory implements logging.LoggerFactory. Pion's trace and debug output map to slog debug
// (trace a level below); its info messages to InfoLevel, which callers set to debug when pion
// logs at info what any remote peer can trigger (pion/turn: "permission denied" per request).
type Factory struct {
	Log       *slog.Logger
	InfoLevel slog.Level
}

var _ logging.LoggerFactory = Factory{}

// NewLogger implements logging.LoggerFactory.
func (f Factory) NewLogger(scope string) logging.LeveledLogger {
	return logger{log: f.Log.With("pion", scope), info: f.InfoLevel}
}

// logger adapts one pion scope.
type logger struct {
	log  *slog.Logger
	info slog.Level
}

func (l logger) emit(level slog.Level, msg string) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, msg)
	}
}

func (l logger) emitf(level slog.Level, format string, args ...any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l logger) Trace(msg string)                  { l.emit(slog.LevelDebug-4, msg) }
func (l logger) Tracef(format string, args ...any) { l.emitf(slog.LevelDebug-4, format, args...) }
func (l logger) Debug(msg string)                  { l.emit(slog.LevelDebug, msg) }
func (l logger) Debugf(format string, args ...any) { l.emitf(slog.LevelDebug, format, args...) }
func (l logger) Info(msg string)                   { l.emit(l.info, msg) }
func (l logger) Infof(format string, args ...any)  { l.emitf(l.info, format, args...) }
func (l logger) Warn(msg string)                   { l.emit(slog.LevelWarn, msg) }
func (l logger) Warnf(format string, args ...any)  { l.emitf(slog.LevelWarn, format, args...) }
func (l logger) Error(msg string)                  { l.emit(slog.LevelError, msg) }
func (l logger) Errorf(format string, args ...any) { l.emitf(slog.LevelError, format, args...) }
