package e2e

import (
	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
)

// bins are the commands the tests run, built once with one go build, with the race detector
// exactly when the test binary has it.
var bins = &e2eutil.Binaries{Prefix: "conclave-e2e-bin", Race: e2eutil.RaceEnabled, Commands: []string{
	"./cmd/conclave", "./management-api/cmd/management-api", "./portal/cmd/portal",
	"./conference-agent/cmd/conference-agent", "./webrtc-agent/cmd/webrtc-agent",
	"./recording-agent/cmd/recording-agent", "./streaming-agent/cmd/streaming-agent", "./mixing-agent/cmd/mixing-agent",
}}

// loopbackClient are the client options of every test participant that needs no events.
var loopbackClient = participant.Options(rtc.Events{})
