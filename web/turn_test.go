package web

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/netlab"
)

// testTURN runs Chromium in a network namespace that drops every UDP packet and the
// all-in-one in another, joined by a veth pair: the two demo pages must see each other through
// the embedded TURN server over TCP, with the ICE servers handed out in the login answer and
// no configuration in the page (relay.js checks every selected candidate pair).
func testTURN(t *testing.T, bin, art string) {
	const srvIP, cliIP = "10.77.2.1", "10.77.2.2"
	lab := netlab.New(t)
	srvNS, cliNS := lab.Namespace("server"), lab.Namespace("browser")
	srvDev, _ := lab.Link(srvNS, cliNS, srvIP+"/24", cliIP+"/24")
	cliNS.DropUDP(t)

	portal := srvIP + ":8080"
	args := srvNS.Args(bin)
	p := e2eutil.Start(t, args[0], args[1:],
		"CONCLAVE_CONFIG="+e2eutil.WriteConfig(t, "webrtc:\n  interfaces: ["+srvDev+"]\n"),
		"CONCLAVE_DATA_DIR="+filepath.Join(t.TempDir(), "data"),
		"CONCLAVE_MANAGEMENT_LISTEN="+srvIP+":3000", "CONCLAVE_PORTAL_LISTEN="+portal,
		"CONCLAVE_PORTAL_PUBLIC_HOST="+portal, "CONCLAVE_TURN_LISTEN="+srvIP+":3478",
		"CONCLAVE_BUS_URL=", "CONCLAVE_MONGO_URI=", "CONCLAVE_CLUSTER_KEY=",
		"CONCLAVE_SUPER_SERVICE_ID=", "CONCLAVE_SUPER_SERVICE_KEY=",
		"CONCLAVE_DEV_TOKENS=1", "CONCLAVE_LOG_LEVEL=warn")
	p.WaitOutput(t, "the banner", time.Minute, func(out string) bool { return strings.Contains(out, "Conclave is running") })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The page is served from a lab address, which is not a secure context: let Chromium
	// treat it as one so that getUserMedia exists.
	n := startNodeCmd(t, cliNS.Command(ctx, "node", "relay.js"),
		"PORTAL_URL=http://"+portal, "ROOM=relay", envArtifacts+"="+art,
		"CHROMIUM_ARGS_EXTRA=--unsafely-treat-insecure-origin-as-secure=http://"+portal)
	res := n.wait(t)
	t.Logf("two pages through TURN over TCP: %d ms", res.MS)
}
