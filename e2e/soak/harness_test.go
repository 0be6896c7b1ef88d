package soak

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
)

// bins are every binary the tests run, each named after its directory, built once with the
// race detector exactly when the test binary has it.
var bins = &e2eutil.Binaries{Prefix: "conclave-soak-bin", Race: e2eutil.RaceEnabled, Commands: []string{
	"./cmd/conclave", "./management-api/cmd/management-api", "./portal/cmd/portal",
	"./conference-agent/cmd/conference-agent", "./webrtc-agent/cmd/webrtc-agent",
	"./recording-agent/cmd/recording-agent", "./streaming-agent/cmd/streaming-agent",
}}

// restTimeout bounds a management API request of these tests (the server may be loaded).
const restTimeout = 30 * time.Second

// loopbackClient are the options of media clients: loopback candidates only, pion quiet.
var loopbackClient = participant.Options(rtc.Events{})

// server is a running all-in-one process.
type server struct {
	proc   *e2eutil.Proc
	super  e2eutil.RESTClient
	portal string // host:port
	pprof  string // host:port of net/http/pprof
}

// startAllInOne runs the all-in-one binary with loopback media, a known super service and
// pprof, with yaml appended to the config, and waits until the API and portal answer.
func startAllInOne(t *testing.T, yaml string, env ...string) server {
	t.Helper()
	mport, pport, dport := e2eutil.FreePort(t), e2eutil.FreePort(t), e2eutil.FreePort(t)
	s := server{portal: fmt.Sprintf("127.0.0.1:%d", pport), pprof: fmt.Sprintf("127.0.0.1:%d", dport)}
	s.super = e2eutil.RESTClient{Base: fmt.Sprintf("http://127.0.0.1:%d", mport), ServiceID: ids.ObjectID(), Key: ids.RandomHex(32), Timeout: restTimeout}
	env = append([]string{
		"CONCLAVE_CONFIG=" + e2eutil.WriteConfig(t, e2eutil.LoopbackWebRTCConfig+yaml),
		"CONCLAVE_DATA_DIR=" + t.TempDir(),
		fmt.Sprintf("CONCLAVE_MANAGEMENT_LISTEN=127.0.0.1:%d", mport),
		"CONCLAVE_PORTAL_LISTEN=" + s.portal,
		"CONCLAVE_PORTAL_PUBLIC_HOST=" + s.portal,
		"CONCLAVE_BUS_URL=", "CONCLAVE_MONGO_URI=", "CONCLAVE_CLUSTER_KEY=",
		"CONCLAVE_SUPER_SERVICE_ID=" + s.super.ServiceID,
		"CONCLAVE_SUPER_SERVICE_KEY=" + s.super.Key,
		"CONCLAVE_PPROF_LISTEN=" + s.pprof,
	}, env...)
	s.proc = e2eutil.Start(t, bins.Path(t, "conclave"), nil, env...)
	e2eutil.WaitUntil(t, "management API", time.Minute, func() bool { return e2eutil.HTTPOK(s.super.Base + "/healthz") }, s.proc)
	e2eutil.WaitUntil(t, "portal", time.Minute, func() bool { return e2eutil.HTTPOK("http://" + s.portal + "/healthz") }, s.proc)
	return s
}

// runtimeStats are the server's goroutine count and live heap after a forced GC, read from
// its pprof endpoints.
type runtimeStats struct {
	Goroutines int
	HeapAlloc  int64
}

func (s server) stats(t *testing.T) runtimeStats {
	t.Helper()
	var st runtimeStats
	g := s.pprofText(t, "/debug/pprof/goroutine?debug=1")
	if _, err := fmt.Sscanf(g, "goroutine profile: total %d", &st.Goroutines); err != nil {
		t.Fatalf("goroutine profile %.100q: %v", g, err)
	}
	h := s.pprofText(t, "/debug/pprof/heap?debug=1&gc=1")
	_, rest, ok := strings.Cut(h, "\n# HeapAlloc = ")
	if !ok {
		t.Fatal("heap profile without HeapAlloc")
	}
	n, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(rest, "\n", 2)[0]), 10, 64)
	if err != nil {
		t.Fatalf("HeapAlloc: %v", err)
	}
	st.HeapAlloc = n
	return st
}

func (s server) pprofText(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + s.pprof + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return string(b)
}
