package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CoturnConfig writes a turnserver.conf for Debian's coturn into dir: listening and relaying
// on ip, port for UDP and TCP, relay ports 49160-49200, TURN REST API credentials
// (use-auth-secret with secret), no TLS, no CLI, state and log kept in dir. It returns the
// file's path. coturn refuses peers on loopback and multicast addresses; peers on ip's own
// network are allowed.
func CoturnConfig(t testing.TB, dir, ip string, port int, secret string) string {
	t.Helper()
	// coturn rejects comments at the end of a line, so there are none.
	body := strings.Join([]string{
		"listening-ip=" + ip, "relay-ip=" + ip, fmt.Sprintf("listening-port=%d", port),
		"min-port=49160", "max-port=49200", "realm=conclave.test", "use-auth-secret", "static-auth-secret=" + secret,
		"fingerprint", "no-tls", "no-dtls", "no-cli", "no-multicast-peers",
		"userdb=" + filepath.Join(dir, "turndb"), "pidfile=" + filepath.Join(dir, "turnserver.pid"),
		"log-file=stdout", "simple-log", "",
	}, "\n")
	conf := filepath.Join(dir, "turnserver.conf")
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return conf
}
