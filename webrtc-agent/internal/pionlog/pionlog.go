// Package pionlog routes pion's leveled logs (ICE, DTLS, TURN…) to the agent's injected slog
// logger.
package pionlog

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

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

// routine lists the starts of pion warnings that normal operation produces and that need no
// operator's attention, logged at debug instead (an outside soak of clean joins and leaves
// counted thousands of them; issue 21):
//   - a PeerConnection closing while its SRTP session still accepts streams, and its ICE
//     candidates' read loops ending on the closed socket ("stream is already closed",
//     "closed pipe");
//   - ICE checks that start before the remote candidates arrive (trickle, or the answer
//     still on its way);
//   - RTCP of a simulcast layer arriving before its first RTP packet (pion fires OnTrack
//     from RTP);
//   - a packet on the shared UDP port for a transport that just closed, or a DTLS record
//     (the peer's close_notify alert) for a transport whose DTLS connection closed first
//     (pion writes these with a "Warning: " prefix);
//   - a STUN packet without a username from an address whose transport is gone (the peer's
//     last binding responses after the close);
//   - a new SSRC accepted by a closing SRTP session whose SRTCP session already closed
//     ("failed to cast child" is srtp's answer of a closed session);
//   - a packet the shared UDP port hands to a transport that closed a moment before (pion
//     logs this one as an error: "Failed to write packet: io: read/write on closed pipe");
//   - a PeerConnection closed while it was still being set up (its participant left or
//     vanished during the negotiation): ICE steps on the closed agent, the connection attempt
//     canceled, the DTLS handshake ended by the peer's close (EOF), the undeclared-media
//     reader finding no DTLS transport.
var routine = []struct{ prefix, contains string }{
	{"Failed to accept RTP stream is already closed", ""},
	{"Failed to accept RTCP stream is already closed", ""},
	{"Failed to read from candidate", "closed"},
	{"Failed to ping without candidate pairs", ""},
	{"Incoming unhandled RTCP ssrc", ""},
	{"mux: no endpoint for packet", ""},
	{"No Username attribute in STUN message", ""},
	{"Failed to open RTCP stream for", "failed to cast child"},
	{"Failed to write packet", "closed pipe"},
	{"", "the agent is closed"},
	{"Failed to start manager", "connecting canceled by caller"},
	{"Failed to start manager", "handshake error: EOF"},
	{"undeclaredMediaProcessor failed to open Srt", "the DTLS transport has not started yet"},
}

// level is the level of a pion warning or error: debug for routine ones, def otherwise.
func level(msg string, def slog.Level) slog.Level {
	msg = strings.TrimPrefix(msg, "Warning: ")
	for _, r := range routine {
		if strings.HasPrefix(msg, r.prefix) && strings.Contains(msg, r.contains) {
			return slog.LevelDebug
		}
	}
	return def
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
func (l logger) Warn(msg string)                   { l.emit(level(msg, slog.LevelWarn), msg) }
func (l logger) Warnf(format string, args ...any)  { l.Warn(fmt.Sprintf(format, args...)) }
func (l logger) Error(msg string)                  { l.emit(level(msg, slog.LevelError), msg) }
func (l logger) Errorf(format string, args ...any) { l.Error(fmt.Sprintf(format, args...)) }
