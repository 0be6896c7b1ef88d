// Package e2e drives the real binaries over HTTP: the all-in-one `conclave` on its embedded
// store and in-process bus, and a distributed deployment (separate management-api and portal
// processes on RabbitMQ and a MongoDB-wire server).
package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
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
	if !strings.Contains(p.Output(), cred.ID) {
		t.Fatalf("the banner does not show the super service id:\n%s", p.Output())
	}
	super := e2eutil.RESTClient{Base: base, ServiceID: cred.ID, Key: cred.Key}
	svc, roomID := exerciseREST(t, super, portalHost)

	// A graceful stop exits 0, and everything is still there after a restart.
	if err := p.Stop(20 * time.Second); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.Output())
	}
	p = e2eutil.Start(t, bins.Path(t, "conclave"), nil, env...)
	e2eutil.WaitHTTP(t, base+"/healthz", 30*time.Second, p)
	e2eutil.Must(t, svc.Do(t, "GET", "/v1/rooms/"+roomID, nil), http.StatusOK)
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
