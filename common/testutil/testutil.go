// Package testutil gives integration tests the addresses of the real servers the test
// command starts (RabbitMQ, a MongoDB-wire server), and unique names to isolate each test.
package testutil

import (
	"os"
	"testing"

	"github.com/conclave-rtc/conclave/common/ids"
)

// Environment variables set by scripts/test.
const (
	EnvAMQPURL  = "CONCLAVE_TEST_AMQP_URL"  // e.g. amqp://guest:guest@127.0.0.1:5672/
	EnvMongoURI = "CONCLAVE_TEST_MONGO_URI" // e.g. mongodb://127.0.0.1:27018/
	// EnvRequire makes a missing server a test failure instead of a skip; scripts/test and
	// CI set it, so integration tests can never silently not run there.
	EnvRequire = "CONCLAVE_REQUIRE_INTEGRATION"
)

// AMQPURL returns the test RabbitMQ URL, or skips (fails under EnvRequire) when none is set.
func AMQPURL(t testing.TB) string { return need(t, EnvAMQPURL) }

// MongoURI returns the test MongoDB-wire URI, or skips (fails under EnvRequire) when none is set.
func MongoURI(t testing.TB) string { return need(t, EnvMongoURI) }

func need(t testing.TB, env string) string {
	t.Helper()
	v := os.Getenv(env)
	if v != "" {
		return v
	}
	if os.Getenv(EnvRequire) != "" {
		t.Fatalf("%s is not set but %s requires integration tests", env, EnvRequire)
	}
	t.Skipf("%s not set (run scripts/test)", env)
	return ""
}

// UniqueName returns prefix followed by random hex, for per-test queues, exchanges and
// databases.
func UniqueName(prefix string) string { return prefix + ids.RandomHex(6) }
