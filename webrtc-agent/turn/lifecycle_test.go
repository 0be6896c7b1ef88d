package turn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/pion/stun/v3"
	"github.com/pion/turn/v5"
)

// TestTURNRunStops checks that Run returns once its context ends while clients still hold
// allocations over UDP and TCP, that the allocations are released, and that no goroutine is
// left once the clients are gone.
func TestTURNRunStops(t *testing.T) {
	baseline := runtime.NumGoroutine()
	var s *Server
	t.Run("serve", func(t *testing.T) {
		var err error
		if s, err = New(testConfig()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		allocate(t, s, overUDP, "alice")
		allocate(t, s, overTCP, "bob")
		idle := bindingOverTCP(t, s) // a connection without allocation, which pion never closes
		if n := s.Stats().Allocations; n != 2 {
			t.Fatalf("Allocations = %d", n)
		}
		cancel() // the clients are closed only after Run returned
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
		case <-time.After(2 * deadline):
			t.Fatal("Run did not return")
		}
		if n := s.Stats().Allocations; n != 0 {
			t.Fatalf("Allocations = %d after Run returned", n)
		}
		if _, err := net.Dial("tcp", s.TCPAddr().String()); err == nil {
			t.Fatal("TCP listener still accepts")
		}
		idle.SetReadDeadline(time.Now().Add(deadline))
		if _, err := idle.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Fatalf("accepted connection not closed by the server: %v", err)
		}
	})
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= baseline })
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// bindingOverTCP opens a TCP connection and completes a STUN Binding on it, so the server has
// accepted and served it.
func bindingOverTCP(t *testing.T, s *Server) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.TCPAddr().String(), deadline)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if _, err := conn.Write(req.Raw); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(deadline))
	buf := make([]byte, 1500)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	res := &stun.Message{Raw: buf[:n]}
	if err := res.Decode(); err != nil || res.Type != stun.BindingSuccess || res.TransactionID != req.TransactionID {
		t.Fatalf("binding response %v, %v", res, err)
	}
	return conn
}

func TestTURNRunOnce(t *testing.T) {
	s, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
	if err := s.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Run: %v", err)
	}

	s = startServer(t, testConfig())
	allocate(t, s, overUDP, "alice") // answered: Run is serving
	if err := s.Run(context.Background()); !errors.Is(err, ErrRunning) {
		t.Fatalf("Run while running: %v", err)
	}
}

// TestTURNSilentConnection checks that a TCP connection that never sends is closed after the
// first-read timeout (shortened here), and that one that did send stays open past it.
func TestTURNSilentConnection(t *testing.T) {
	s, err := New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	s.loops.firstRead = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	active := bindingOverTCP(t, s)
	silent, err := net.DialTimeout("tcp", s.TCPAddr().String(), deadline)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	silent.SetReadDeadline(time.Now().Add(deadline))
	if _, err := silent.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("silent connection: %v, want EOF", err)
	}
	// The active connection outlived the silent one's timeout: it still answers.
	req := stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if _, err := active.Write(req.Raw); err != nil {
		t.Fatal(err)
	}
	active.SetReadDeadline(time.Now().Add(deadline))
	if _, err := active.Read(make([]byte, 1500)); err != nil {
		t.Fatalf("active connection: %v", err)
	}
}

// TestTURNTLS allocates over TURN over TLS and relays to an echo peer.
func TestTURNTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	echo := newPeer(t, true)
	cfg := testConfig()
	cfg.TLSListen, cfg.CertFile, cfg.KeyFile = "127.0.0.1:0", certFile, keyFile
	cfg.AllowPeers = []netip.Prefix{prefix("127.0.0.1/32")}
	s := startServer(t, cfg)
	if s.TLSAddr() == nil {
		t.Fatal("no TLS address")
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: deadline}, "tcp", s.TLSAddr().String(),
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	c := credential("alice")
	relay, err := newClient(t, turn.NewSTUNConn(conn), s.TLSAddr().String(), c.Username, c.Password).Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	if _, err := relay.WriteTo([]byte("over tls"), echo.addr()); err != nil {
		t.Fatal(err)
	}
	if got, _ := readFrom(t, relay); got != "over tls" {
		t.Fatalf("relay read %q", got)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns a pool trusting it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "turn test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{loopback}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pool
}
