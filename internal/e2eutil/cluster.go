package e2eutil

import (
	"crypto/rand"
	"encoding/base64"

	"github.com/conclave-rtc/conclave/common/ids"
	"github.com/conclave-rtc/conclave/common/testutil"
)

// Cluster is what the processes of one distributed deployment share: a bus prefix and a
// database of their own on the shared broker and MongoDB-wire server (so that tests running
// in parallel do not see each other), a cluster key and the super service credentials.
type Cluster struct {
	// Prefix is the bus prefix, ending with a dot.
	Prefix string
	// Database is the MongoDB database name.
	Database string
	// SuperID and SuperKey are the super service's credentials.
	SuperID, SuperKey string
	// Env is the environment that gives a process all of the above.
	Env []string
}

// NewCluster returns the shared settings of a new deployment on the broker busURL and the
// database server mongoURI; name goes into the prefix and the database name.
func NewCluster(busURL, mongoURI, name string) Cluster {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	c := Cluster{
		Prefix:   testutil.UniqueName(name) + ".",
		Database: testutil.UniqueName("conclave_" + name + "_"),
		SuperID:  ids.ObjectID(),
		SuperKey: ids.RandomHex(32),
	}
	c.Env = []string{
		"CONCLAVE_BUS_URL=" + busURL,
		"CONCLAVE_BUS_PREFIX=" + c.Prefix,
		"CONCLAVE_MONGO_URI=" + mongoURI,
		"CONCLAVE_MONGO_DATABASE=" + c.Database,
		"CONCLAVE_CLUSTER_KEY=" + base64.StdEncoding.EncodeToString(key),
		"CONCLAVE_SUPER_SERVICE_ID=" + c.SuperID,
		"CONCLAVE_SUPER_SERVICE_KEY=" + c.SuperKey,
	}
	return c
}

// Client returns a REST client of the super service on the API at base.
func (c Cluster) Client(base string) RESTClient {
	return RESTClient{Base: base, ServiceID: c.SuperID, Key: c.SuperKey}
}
