package turn

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/turncred"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/pionlog"
	"github.com/pion/stun/v3"
	"github.com/pion/turn/v5"
)

const (
	testSecret = "test-secret"
	// deadline bounds every wait on the network; it is generous, never a timing assertion.
	deadline = 5 * time.Second
)

var loopback = net.IPv4(127, 0, 0, 1)

// testConfig is a server on 127.0.0.1 with ephemeral ports.
func testConfig() Config {
	return Config{Listen: "127.0.0.1:0", RelayIP: loopback, Secret: testSecret, Logger: testLogger()}
}

func testLogger() *slog.Logger {
	return slog.New(slog.DiscardHandler)
}

// startServer runs a server until the test ends, then checks that Run returned.
func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(2 * deadline):
			t.Error("Run did not return after cancel")
		}
	})
	return s
}

// client is a pion TURN client over UDP or TCP.
type client struct {
	*turn.Client
	conn net.PacketConn
}

type transport string

const (
	overUDP transport = "udp"
	overTCP transport = "tcp"
)

// dial connects a pion client with the given credentials; the test closes it.
func dial(t *testing.T, s *Server, over transport, username, password string) *client {
	t.Helper()
	if over == overTCP {
		return dialAddr(t, s.TCPAddr().String(), over, username, password)
	}
	return dialAddr(t, s.UDPAddr().String(), over, username, password)
}

// dialAddr connects a pion client to the TURN server at addr (any server: coturn too).
func dialAddr(t *testing.T, addr string, over transport, username, password string) *client {
	t.Helper()
	var conn net.PacketConn
	switch over {
	case overUDP:
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn = pc
	case overTCP:
		c, err := net.DialTimeout("tcp", addr, deadline)
		if err != nil {
			t.Fatal(err)
		}
		conn = turn.NewSTUNConn(c)
	}
	return newClient(t, conn, addr, username, password)
}

func newClient(t *testing.T, conn net.PacketConn, server, username, password string) *client {
	t.Helper()
	c, err := turn.NewClient(&turn.ClientConfig{
		TURNServerAddr: server, STUNServerAddr: server, Conn: conn,
		Username: username, Password: password,
		LoggerFactory: pionlog.Factory{Log: testLogger(), InfoLevel: slog.LevelDebug},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		conn.Close()
	})
	return &client{Client: c, conn: conn}
}

// credential issues a valid credential for user.
func credential(user string) turncred.Credential {
	return turncred.New(testSecret, user, time.Hour, time.Now())
}

// allocate allocates with a valid credential and closes the allocation when the test ends.
func allocate(t *testing.T, s *Server, over transport, user string) net.PacketConn {
	t.Helper()
	c := credential(user)
	relay, err := dial(t, s, over, c.Username, c.Password).Allocate()
	if err != nil {
		t.Fatalf("Allocate over %s: %v", over, err)
	}
	t.Cleanup(func() { relay.Close() })
	return relay
}

// turnCode returns the TURN error code of err (0 when err is not a TURN error response).
func turnCode(err error) stun.ErrorCode {
	var te *stun.TurnError
	if errors.As(err, &te) {
		return te.ErrorCodeAttr.Code
	}
	return 0
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// udpPeer is a local UDP socket standing in for a peer of the relay. With echo, it sends every
// datagram back to its sender.
type udpPeer struct {
	conn *net.UDPConn
	port uint16
}

func newPeer(t *testing.T, echo bool) *udpPeer {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	p := &udpPeer{conn: conn, port: uint16(conn.LocalAddr().(*net.UDPAddr).Port)}
	done := make(chan struct{})
	t.Cleanup(func() {
		conn.Close()
		if echo {
			<-done
		}
	})
	if echo {
		go func() {
			defer close(done)
			buf := make([]byte, 1500)
			for {
				n, from, err := conn.ReadFromUDP(buf)
				if err != nil {
					return
				}
				conn.WriteToUDP(buf[:n], from)
			}
		}()
	}
	return p
}

func (p *udpPeer) addr() *net.UDPAddr { return p.conn.LocalAddr().(*net.UDPAddr) }

// pending returns what the (non-echo) peer has received so far, without waiting: a read
// deadline in the past would not even look at the socket, so it reads with MSG_DONTWAIT.
func (p *udpPeer) pending(t *testing.T) []string {
	t.Helper()
	raw, err := p.conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	buf := make([]byte, 1500)
	for {
		var n int
		var rerr error
		if err := raw.Read(func(fd uintptr) bool {
			n, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if errors.Is(rerr, syscall.EAGAIN) {
			return got
		}
		if rerr != nil {
			t.Fatal(rerr)
		}
		got = append(got, string(buf[:n]))
	}
}

// readFrom reads one datagram from the relay within the deadline.
func readFrom(t *testing.T, relay net.PacketConn) (string, net.Addr) {
	t.Helper()
	relay.SetReadDeadline(time.Now().Add(deadline))
	buf := make([]byte, 1500)
	n, from, err := relay.ReadFrom(buf)
	if err != nil {
		t.Fatalf("relay read: %v", err)
	}
	return string(buf[:n]), from
}

func prefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
