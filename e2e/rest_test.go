// Package e2e drives the real binaries over HTTP: the all-in-one `conclave` on its embedded
// store and in-process bus, and a distributed deployment (separate management-api and portal
// processes on RabbitMQ and a MongoDB-wire server).
package e2e

import (
	"crypto/rand"
	"encoding/base64"
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
)

// TestE2ESignatureVectors checks this package's own MAuth signer against the reference
// vectors, so the REST tests below sign requests with an independently verified algorithm.
func TestE2ESignatureVectors(t *testing.T) {
	cases := []struct{ toSign, want string }{
		{"1700000000000,12345", "MDUyNDAyODNlZTg0OTNiYjkwNGM0NmU2YTNjMWVkYmFhOTlhMjI0OWI4NDMxYmNhMDc5NWQ0NDAyOWU2MzE5YQ=="},
		{"1700000000000,12345,YWxpY2U=,presenter", "MWIyOWViYjA4MDM2ZTFlNzBkMGY0MDUwMWRjMGIyZWVjZDI3ZDUyZTE3MjEwZWYzOGNlMDZlMGY0MzY4MmVjYg=="},
	}
	for _, c := range cases {
		if got := owtSignature("samplekey", c.toSign); got != c.want {
			t.Errorf("owtSignature(%q) = %s, want %s", c.toSign, got, c.want)
		}
	}
}

func TestE2EAllInOne(t *testing.T) {
	dir := t.TempDir()
	mport, pport := freePort(t), freePort(t)
	portalHost := fmt.Sprintf("127.0.0.1:%d", pport)
	env := []string{
		"CONCLAVE_DATA_DIR=" + dir,
		fmt.Sprintf("CONCLAVE_MANAGEMENT_LISTEN=127.0.0.1:%d", mport),
		"CONCLAVE_PORTAL_LISTEN=" + portalHost,
		"CONCLAVE_PORTAL_PUBLIC_HOST=" + portalHost,
		"CONCLAVE_BUS_URL=", "CONCLAVE_MONGO_URI=", "CONCLAVE_SUPER_SERVICE_ID=", "CONCLAVE_SUPER_SERVICE_KEY=",
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", mport)
	p := start(t, binary(t, "conclave"), env...)
	waitHTTP(t, p, base+"/healthz", 30*time.Second)

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
	if !strings.Contains(p.out.String(), cred.ID) {
		t.Fatalf("the banner does not show the super service id:\n%s", p.out.String())
	}
	super := client{base: base, serviceID: cred.ID, key: cred.Key}
	svc, roomID := exerciseREST(t, super, portalHost)

	// A graceful stop exits 0, and everything is still there after a restart.
	if err := p.stop(20 * time.Second); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, p.out.String())
	}
	p = start(t, binary(t, "conclave"), env...)
	waitHTTP(t, p, base+"/healthz", 30*time.Second)
	must(t, svc.do(t, "GET", "/v1/rooms/"+roomID, nil), http.StatusOK)
}

func TestE2EDistributed(t *testing.T) {
	amqpURL, mongoURI := testutil.AMQPURL(t), testutil.MongoURI(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	superID, superKey := ids.ObjectID(), ids.RandomHex(32)
	pport := freePort(t)
	portalHost := fmt.Sprintf("127.0.0.1:%d", pport)
	common := []string{
		"CONCLAVE_BUS_URL=" + amqpURL,
		"CONCLAVE_BUS_PREFIX=" + testutil.UniqueName("e2e") + ".",
		"CONCLAVE_MONGO_URI=" + mongoURI,
		"CONCLAVE_MONGO_DATABASE=" + testutil.UniqueName("conclave_e2e_"),
		"CONCLAVE_CLUSTER_KEY=" + base64.StdEncoding.EncodeToString(key),
		"CONCLAVE_SUPER_SERVICE_ID=" + superID,
		"CONCLAVE_SUPER_SERVICE_KEY=" + superKey,
		"CONCLAVE_PORTAL_LISTEN=" + portalHost,
		"CONCLAVE_PORTAL_PUBLIC_HOST=" + portalHost,
		"CONCLAVE_DATA_DIR=" + t.TempDir(),
	}
	start(t, binary(t, "portal"), common...)
	start(t, binary(t, "conference-agent"), common...)
	var apis []client
	for range 2 {
		port := freePort(t)
		p := start(t, binary(t, "management-api"), append(common, fmt.Sprintf("CONCLAVE_MANAGEMENT_LISTEN=127.0.0.1:%d", port))...)
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		waitHTTP(t, p, base+"/readyz", 30*time.Second)
		apis = append(apis, client{base: base, serviceID: superID, key: superKey})
	}
	svc, roomID := exerciseREST(t, apis[0], portalHost)
	// The management API is stateless: the other instance serves the same data.
	svc.base = apis[1].base
	must(t, svc.do(t, "GET", "/v1/rooms/"+roomID, nil), http.StatusOK)
	tok := must(t, svc.do(t, "POST", "/v1/rooms/"+roomID+"/tokens", map[string]string{"user": "bob", "role": "viewer"}), http.StatusOK)
	checkToken(t, string(tok.Body), portalHost)
}
