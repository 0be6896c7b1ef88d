// Package e2e drives the real binaries over HTTP: the all-in-one `conclave` on its embedded
// store and in-process bus, and a distributed deployment (separate management-api and portal
// processes on RabbitMQ and a MongoDB-wire server).
package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/testutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
)

func TestE2EAllInOne(t *testing.T) {
	dir := t.TempDir()
	mport, pport := e2eutil.FreePort(t), e2eutil.FreePort(t)
	portalHost := fmt.Sprintf("127.0.0.1:%d", pport)
	env := []string{
		"CONCLAVE_DATA_DIR=" + dir,
		fmt.Sprintf("CONCLAVE_MANAGEMENT_LISTEN=127.0.0.1:%d", mport),
		"CONCLAVE_PORTAL_LISTEN=" + portalHost,
		"CONCLAVE_PORTAL_PUBLIC_HOST=" + portalHost,
		"CONCLAVE_BUS_URL=", "CONCLAVE_MONGO_URI=", "CONCLAVE_SUPER_SERVICE_ID=", "CONCLAVE_SUPER_SERVICE_KEY=",
		"CONCLAVE_TURN_LISTEN=127.0.0.1:0",
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", mport)
	p := e2eutil.Start(t, bins.Path(t, "conclave"), nil, env...)
	e2eutil.WaitHTTP(t, base+"/healthz", 30*time.Second, p)

	// Generated super service credentials are kept, private, in the data directory.
	credFile := filepath.Join(dir, "super-service.json")
	st, err := os.Stat(credFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("%s mode %v, want 0600", credFile, st.Mode().Perm())
	}
	var cred struct{ ID, Key string }
	b, _ := os.ReadFile(credFile)
	if err := json.Unmarshal(b, &cred); err != nil || !ids.IsObjectID(cred.ID) || cred.Key == "" {
		t.Fatalf("bad credentials file: %s", b)
	}
	if !strings.Contains(p.Output(), cred.ID) || !strings.Contains(p.Output(), cred.Key) {
		t.Fatalf("the first banner does not show the generated super service credentials:\n%s", p.Output())
	}
	super := e2eutil.RESTClient{Base: base, ServiceID: cred.ID, Key: cred.Key, OpenAPI: e2eutil.OpenAPIChecker(t)}
	svc, roomID := exerciseREST(t, super, portalHost)
	// The all-in-one's /metrics also carries its webrtc agent's (webrtc-agent/README.md).
	if m := e2eutil.Must(t, svc.Send(t, "GET", "/metrics", nil, ""), http.StatusOK); !strings.Contains(string(m.Body), "conclave_webrtc_subscription_tracks") {
		t.Fatalf("the all-in-one's /metrics has no webrtc metrics: %.300s", m.Body)
	}
	checkLoopbackListeners(t, p, mport, pport)

	// A second process on the same data directory says why it cannot start.
	second := e2eutil.Start(t, bins.Path(t, "conclave"), nil, append(env[1:len(env):len(env)],
		"CONCLAVE_DATA_DIR="+dir, "CONCLAVE_MANAGEMENT_LISTEN=127.0.0.1:0", "CONCLAVE_PORTAL_LISTEN=127.0.0.1:0")...)
	select {
	case <-second.Exited():
	case <-time.After(20 * time.Second):
		t.Fatal("a second process on the same data directory kept running")
	}
	if second.ExitCode() == 0 || !strings.Contains(second.Output(), "another process holds the data directory") {
		t.Fatalf("second process: exit %d\n%s", second.ExitCode(), second.Output())
	}

	// A graceful stop exits 0, and everything is still there after a restart.
	if err := p.Stop(20 * time.Second); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.Output())
	}
	p = e2eutil.Start(t, bins.Path(t, "conclave"), nil, env...)
	e2eutil.WaitHTTP(t, base+"/healthz", 30*time.Second, p)
	e2eutil.Must(t, svc.Do(t, "GET", "/v1/rooms/"+roomID, nil), http.StatusOK)
	// The key is printed only when it is generated; afterwards the banner says where it is.
	if strings.Contains(p.Output(), cred.Key) || !strings.Contains(p.Output(), credFile) {
		t.Fatalf("the banner of a restart shows the key or not where it is kept:\n%s", p.Output())
	}
}

func TestE2EDistributed(t *testing.T) {
	amqpURL, mongoURI := testutil.AMQPURL(t), testutil.MongoURI(t)
	cluster := e2eutil.NewCluster(amqpURL, mongoURI, "e2e")
	pport := e2eutil.FreePort(t)
	portalHost := fmt.Sprintf("127.0.0.1:%d", pport)
	common := append(cluster.Env,
		"CONCLAVE_PORTAL_LISTEN="+portalHost,
		"CONCLAVE_PORTAL_PUBLIC_HOST="+portalHost,
		"CONCLAVE_DATA_DIR="+t.TempDir(),
	)
	e2eutil.Start(t, bins.Path(t, "portal"), nil, common...)
	e2eutil.Start(t, bins.Path(t, "conference-agent"), nil, common...)
	var apis []e2eutil.RESTClient
	for range 2 {
		port := e2eutil.FreePort(t)
		p := e2eutil.Start(t, bins.Path(t, "management-api"), nil, append(common, fmt.Sprintf("CONCLAVE_MANAGEMENT_LISTEN=127.0.0.1:%d", port))...)
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		e2eutil.WaitHTTP(t, base+"/readyz", 30*time.Second, p)
		apis = append(apis, cluster.Client(base))
	}
	svc, roomID := exerciseREST(t, apis[0], portalHost)
	// The management API is stateless: the other instance serves the same data.
	svc.Base = apis[1].Base
	e2eutil.Must(t, svc.Do(t, "GET", "/v1/rooms/"+roomID, nil), http.StatusOK)
	tok := e2eutil.Must(t, svc.Do(t, "POST", "/v1/rooms/"+roomID+"/tokens", map[string]string{"user": "bob", "role": "viewer"}), http.StatusOK)
	checkToken(t, string(tok.Body), portalHost)
}

// checkLoopbackListeners checks that an all-in-one told to serve on 127.0.0.1 listens nowhere
// else: besides the management API and the portal, its agents' media links default to
// loopback (only agents of the same process dial them).
func checkLoopbackListeners(t *testing.T, p *e2eutil.Proc, ports ...int) {
	t.Helper()
	var listeners []netip.AddrPort
	e2eutil.WaitUntil(t, "the media-link listeners", 30*time.Second, func() bool {
		var err error
		if listeners, err = e2eutil.TCPListeners(p.PID()); err != nil {
			t.Fatal(err)
		}
		return len(listeners) >= len(ports)+3 // webrtc, streaming and mixing media links
	}, p)
	for _, l := range listeners {
		if !l.Addr().IsLoopback() {
			t.Errorf("listens on %v (all TCP listeners: %v)", l, listeners)
		}
	}
	for _, port := range ports {
		if !slices.ContainsFunc(listeners, func(l netip.AddrPort) bool { return int(l.Port()) == port }) {
			t.Errorf("not listening on port %d: %v", port, listeners)
		}
	}
	t.Logf("TCP listeners: %v", listeners)
}
