package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/pion/stun/v3"
)

// TestTURNServerCommand runs the command on a loopback port with a config that has neither a
// bus nor a store, checks that it answers STUN, and that SIGTERM stops it with status 0.
func TestTURNServerCommand(t *testing.T) {
	port := freePort(t)
	cfg := filepath.Join(t.TempDir(), "conclave.yaml")
	yaml := fmt.Sprintf("log:\n  level: error\nturn:\n  listen: 127.0.0.1:%d\n  secret: s3cret\n", port)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	code := make(chan int, 1)
	go func() { code <- run(cfg) }()

	server := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	end := time.Now().Add(10 * time.Second)
	for !bindingAnswered(t, server) {
		select {
		case c := <-code:
			t.Fatalf("turn-server exited with %d", c)
		default:
		}
		if time.Now().After(end) {
			t.Fatal("turn-server never answered a STUN binding")
		}
	}
	// The binding was answered by the running server, so the signal handler is installed.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit code %d after SIGTERM", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("turn-server did not stop on SIGTERM")
	}
}

func TestTURNServerCommandNeedsSecret(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "conclave.yaml")
	if err := os.WriteFile(cfg, []byte("turn:\n  listen: 127.0.0.1:0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CONCLAVE_CLUSTER_KEY", "")
	t.Setenv("CONCLAVE_TURN_SECRET", "")
	if c := run(cfg); c != 2 {
		t.Fatalf("exit code %d without secret or cluster key, want 2", c)
	}
}

// freePort returns a port that was free for UDP and TCP on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		pc.Close()
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// bindingAnswered sends one STUN Binding request and waits briefly for the answer.
func bindingAnswered(t *testing.T, server *net.UDPAddr) bool {
	t.Helper()
	conn, err := net.DialUDP("udp4", nil, server)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if _, err := conn.Write(req.Raw); err != nil {
		return false
	}
	conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 1500)
	n, err := conn.Read(buf)
	if err != nil {
		return false
	}
	res := &stun.Message{Raw: buf[:n]}
	return res.Decode() == nil && res.Type == stun.BindingSuccess
}
