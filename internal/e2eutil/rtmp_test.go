package e2eutil

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRTMPServer starts nginx-rtmp on a free loopback port and stops it.
func TestRTMPServer(t *testing.T) {
	begin := time.Now()
	n := StartRTMP(t)
	t.Logf("nginx-rtmp listening on %d after %s", n.Port, time.Since(begin).Round(time.Millisecond))
	if want := fmt.Sprintf("rtmp://127.0.0.1:%d/live/s1", n.Port); n.URL("s1") != want {
		t.Fatalf("URL %s, want %s", n.URL("s1"), want)
	}
	if !strings.HasPrefix(n.Recorded("s1"), n.Dir) || !strings.HasSuffix(n.Recorded("s1"), "/rec/s1.flv") {
		t.Fatalf("Recorded %s", n.Recorded("s1"))
	}
	if err := n.Proc.Stop(10 * time.Second); err != nil {
		t.Fatalf("nginx stop: %v\n%s", err, n.Proc.Output())
	}
	if WaitPort(n.Port, 100*time.Millisecond) {
		t.Fatal("nginx still listens after its stop")
	}
}
