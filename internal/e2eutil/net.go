package e2eutil

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// given are the ports FreePort and FreeUDPPort handed out, by network, so that no port is
// given twice in one test binary even when the kernel offers it again.
var (
	givenMu sync.Mutex
	given   = map[string]map[int]bool{"tcp": {}, "udp": {}}
)

// FreePort returns a loopback TCP port that was free a moment ago and that no other caller
// in this test binary was given.
func FreePort(t testing.TB) int {
	t.Helper()
	return freePort(t, "tcp", func() (int, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port, nil
	})
}

// FreeUDPPort returns a loopback UDP port that was free a moment ago and that no other
// caller in this test binary was given.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	return freePort(t, "udp", func() (int, error) {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	})
}

// maxPortTries bounds the search for a port not given yet.
const maxPortTries = 1000

func freePort(t testing.TB, network string, listen func() (int, error)) int {
	t.Helper()
	givenMu.Lock()
	defer givenMu.Unlock()
	for range maxPortTries {
		port, err := listen()
		if err != nil {
			t.Fatalf("free %s port: %v", network, err)
		}
		if !given[network][port] {
			given[network][port] = true
			return port
		}
	}
	t.Fatalf("free %s port: every port offered was given before", network)
	return 0
}

// WaitPort polls until something accepts TCP on 127.0.0.1:port, and reports whether that
// happened within the given time.
func WaitPort(port int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond); err == nil {
			_ = c.Close()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// HTTPOK reports whether a GET of url answers 200.
func HTTPOK(url string) bool {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// WaitHTTP polls url until it answers 200, failing the test after within or when one of
// procs exits first.
func WaitHTTP(t testing.TB, url string, within time.Duration, procs ...*Proc) {
	t.Helper()
	WaitUntil(t, url+" ready", within, func() bool { return HTTPOK(url) }, procs...)
}
