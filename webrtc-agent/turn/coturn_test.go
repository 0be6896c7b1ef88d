package turn

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/testutil"
	"github.com/conclave-rtc/conclave/common/turncred"
)

// TestTURNCoturnCredentials checks that the credentials Conclave hands out work with coturn
// (Debian's turnserver with use-auth-secret), the external server operators may use instead
// of the embedded one: a fresh credential allocates, a wrong password and an expired
// credential are refused, over UDP and TCP.
func TestTURNCoturnCredentials(t *testing.T) {
	bin, err := exec.LookPath("turnserver")
	if err != nil {
		if os.Getenv(testutil.EnvRequire) != "" {
			t.Fatalf("coturn (turnserver) is required: %v", err)
		}
		t.Skip("coturn (turnserver) not installed")
	}
	const secret = "coturn-interop-secret"
	addr := startCoturn(t, bin, secret)
	good := turncred.New(secret, "alice", time.Hour, time.Now())
	expired := turncred.New(secret, "alice", -time.Minute, time.Now())
	for _, over := range []transport{overUDP, overTCP} {
		for _, tc := range []struct {
			name, username, password string
			ok                       bool
		}{
			{"valid", good.Username, good.Password, true},
			{"wrong password", good.Username, turncred.Password("other", good.Username), false},
			{"expired", expired.Username, expired.Password, false},
		} {
			t.Run(string(over)+"/"+tc.name, func(t *testing.T) {
				relay, err := dialAddr(t, addr, over, tc.username, tc.password).Allocate()
				if tc.ok && err != nil {
					t.Fatalf("coturn refused a Conclave credential: %v", err)
				}
				if !tc.ok && err == nil {
					relay.Close()
					t.Fatal("coturn accepted a bad credential")
				}
				if relay != nil {
					relay.Close()
				}
			})
		}
	}
}

// startCoturn runs turnserver on 127.0.0.1 with TURN REST API credentials and returns its
// address once it accepts TCP connections.
func startCoturn(t *testing.T, bin, secret string) string {
	t.Helper()
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := probe.Addr().(*net.TCPAddr).Port
	probe.Close()
	conf := testutil.CoturnConfig(t, t.TempDir(), "127.0.0.1", port, secret)
	cmd := exec.Command(bin, "-c", conf)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("coturn output:\n%s", out.String())
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitFor(t, "coturn listening", func() bool {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return addr
}
