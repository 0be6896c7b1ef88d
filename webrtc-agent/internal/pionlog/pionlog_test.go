package pionlog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestRoutineWarningsAtDebug: the warnings pion gives in normal operation (teardown, early ICE
// checks, early RTCP) are logged at debug; any other warning stays a warning.
func TestRoutineWarningsAtDebug(t *testing.T) {
	var buf bytes.Buffer
	f := Factory{Log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), InfoLevel: slog.LevelInfo}
	l := f.NewLogger("pc")
	cases := []struct {
		msg  string
		warn bool
	}{
		{"Failed to accept RTP stream is already closed", false},
		{"Failed to accept RTCP stream is already closed", false},
		{"Failed to read from candidate udp4 host 10.0.0.1:5000 (resolved: 10.0.0.1:5000): io: read/write on closed pipe", false},
		{"Failed to ping without candidate pairs. Connection is not possible yet.", false},
		{"Incoming unhandled RTCP ssrc(2347990726), OnTrack will not be fired", false},
		{"mux: no endpoint for packet starting with 128", false},
		{"Warning: mux: no endpoint for packet starting with 21, adding to queue size(0)", false},
		{"No Username attribute in STUN message from 127.0.0.1:47088", false},
		{"Failed to open RTCP stream for 886993921: failed to cast child", false},
		{"Failed to open RTCP stream for 886993921: some other failure", true},
		{"Warning: mux: unable to dispatch zero length packet", true},
		{"Failed to add remote candidate 127.0.0.1: the agent is closed", false},
		{"Failed to set gatheringState to GatheringStateGathering: the agent is closed", false},
		{"Failed to start manager: connecting canceled by caller", false},
		{"Failed to start manager: handshake error: EOF", false},
		{"Failed to start manager: handshake error: bad certificate", true},
		{"Failed to start manager: ICETransport can only be called in ICETransportStateNew", true},
		{"undeclaredMediaProcessor failed to open SrtpSession: the DTLS transport has not started yet", false},
		{"undeclaredMediaProcessor failed to open SrtcpSession: the DTLS transport has not started yet", false},
		{"Failed to read from candidate udp4 host 10.0.0.1:5000: connection reset", true},
		{"Failed to handshake DTLS: bad certificate", true},
	}
	for _, c := range cases {
		buf.Reset()
		l.Warn(c.msg)
		line := buf.String()
		if got := strings.Contains(line, "level=WARN"); got != c.warn || !strings.Contains(line, c.msg[:20]) {
			t.Errorf("%q logged as %q, want warn %v", c.msg, line, c.warn)
		}
		buf.Reset()
		l.Warnf("%s", c.msg)
		if got := strings.Contains(buf.String(), "level=WARN"); got != c.warn {
			t.Errorf("Warnf %q logged as %q, want warn %v", c.msg, buf.String(), c.warn)
		}
	}
	errs := []struct {
		msg   string
		error bool
	}{
		{"Failed to write packet: io: read/write on closed pipe", false},
		{"Failed to write packet: no buffer space available", true},
		{"Failed to handle decode ICE from 127.0.0.1:5000: bad message", true},
	}
	for _, c := range errs {
		buf.Reset()
		l.Errorf("%s", c.msg)
		if got := strings.Contains(buf.String(), "level=ERROR"); got != c.error || !strings.Contains(buf.String(), c.msg[:20]) {
			t.Errorf("Errorf %q logged as %q, want error %v", c.msg, buf.String(), c.error)
		}
	}
}
