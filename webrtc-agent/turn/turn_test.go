package turn

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/turncred"
	"github.com/pion/stun/v3"
)

func TestTURNAllocate(t *testing.T) {
	s := startServer(t, testConfig())
	if s.UDPAddr().Port != s.TCPAddr().Port {
		t.Fatalf("UDP port %d, TCP port %d", s.UDPAddr().Port, s.TCPAddr().Port)
	}
	if s.TLSAddr() != nil {
		t.Fatalf("TLSAddr = %v without TLS", s.TLSAddr())
	}
	for i, over := range []transport{overUDP, overTCP} { // both held at once
		relay := allocate(t, s, over, "alice")
		ra := relay.LocalAddr().(*net.UDPAddr)
		if !ra.IP.Equal(loopback) || ra.Port == 0 {
			t.Fatalf("relayed address over %s: %v", over, ra)
		}
		if got := s.Stats().Allocations; got != i+1 {
			t.Fatalf("Allocations = %d after allocating over %s, want %d", got, over, i+1)
		}
	}
	if st := s.Stats(); st.AuthFailures != 0 || st.QuotaRefusals != 0 || st.PeerRefusals != 0 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestTURNRelayPortRange(t *testing.T) {
	cfg := testConfig()
	cfg.RelayPortMin, cfg.RelayPortMax = 41000, 41009
	s := startServer(t, cfg)
	for range 3 {
		port := allocate(t, s, overUDP, "alice").LocalAddr().(*net.UDPAddr).Port
		if port < cfg.RelayPortMin || port > cfg.RelayPortMax {
			t.Fatalf("relay port %d outside %d-%d", port, cfg.RelayPortMin, cfg.RelayPortMax)
		}
	}
}

func TestTURNAuthRefused(t *testing.T) {
	s := startServer(t, testConfig())
	good := credential("alice")
	expired := turncred.New(testSecret, "alice", -time.Minute, time.Now())
	for _, tc := range []struct {
		name, username, password string
	}{
		{"wrong password", good.Username, turncred.Password("other-secret", good.Username)},
		{"empty password", good.Username, ""},
		{"expired", expired.Username, expired.Password},
		{"malformed", "alice", turncred.Password(testSecret, "alice")},
		{"expiry after the user", "alice:" + good.Username[:10], turncred.Password(testSecret, "alice:"+good.Username[:10])},
	} {
		for _, over := range []transport{overUDP, overTCP} {
			t.Run(tc.name+"/"+string(over), func(t *testing.T) {
				before := s.Stats().AuthFailures
				_, err := dial(t, s, over, tc.username, tc.password).Allocate()
				if code := turnCode(err); code != stun.CodeBadRequest {
					t.Fatalf("Allocate: %v (code %d), want 400", err, code)
				}
				if got := s.Stats().AuthFailures; got != before+1 {
					t.Fatalf("AuthFailures = %d, want %d", got, before+1)
				}
			})
		}
	}
	if n := s.Stats().Allocations; n != 0 {
		t.Fatalf("Allocations = %d after refusals", n)
	}
}

func TestTURNQuota(t *testing.T) {
	cfg := testConfig()
	cfg.UserQuota = 1
	s := startServer(t, cfg)
	first := allocate(t, s, overUDP, "alice")

	c := credential("alice") // another credential of the same user counts too
	_, err := dial(t, s, overTCP, c.Username, c.Password).Allocate()
	if code := turnCode(err); code != stun.CodeAllocQuotaReached {
		t.Fatalf("second allocation of alice: %v (code %d), want 486", err, code)
	}
	if got := s.Stats().QuotaRefusals; got != 1 {
		t.Fatalf("QuotaRefusals = %d, want 1", got)
	}
	allocate(t, s, overUDP, "bob")

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "alice's allocation to be deleted", func() bool { return s.Stats().Allocations == 1 })
	allocate(t, s, overUDP, "alice")
}

func TestTURNQuotaUnlimited(t *testing.T) {
	cfg := testConfig()
	cfg.UserQuota = -1
	s := startServer(t, cfg)
	for range DefaultUserQuota + 1 {
		allocate(t, s, overUDP, "alice")
	}
	if st := s.Stats(); st.Allocations != DefaultUserQuota+1 || st.QuotaRefusals != 0 {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestTURNPermission(t *testing.T) {
	peer := &net.UDPAddr{IP: loopback, Port: 9}
	private := &net.UDPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 9}
	metadata := &net.UDPAddr{IP: net.IPv4(169, 254, 169, 254), Port: 80}
	for _, tc := range []struct {
		name      string
		allow     []string
		addr      *net.UDPAddr
		forbidden bool
	}{
		{"private", nil, private, true},
		{"metadata", nil, metadata, true},
		{"loopback", nil, peer, true},
		{"loopback allowed", []string{"127.0.0.1/32"}, peer, false},
		{"private with loopback allowed", []string{"127.0.0.1/32"}, private, true},
		{"private allowed", []string{"10.0.0.0/8"}, private, false},
	} {
		for _, over := range []transport{overUDP, overTCP} {
			t.Run(tc.name+"/"+string(over), func(t *testing.T) {
				cfg := testConfig()
				for _, p := range tc.allow {
					cfg.AllowPeers = append(cfg.AllowPeers, prefix(p))
				}
				s := startServer(t, cfg)
				c := credential("alice")
				cl := dial(t, s, over, c.Username, c.Password)
				relay, err := cl.Allocate()
				if err != nil {
					t.Fatal(err)
				}
				defer relay.Close()
				err = cl.CreatePermission(tc.addr)
				if code := turnCode(err); tc.forbidden != (code == stun.CodeForbidden) || (!tc.forbidden && err != nil) {
					t.Fatalf("CreatePermission(%v): %v (code %d), forbidden %v", tc.addr, err, code, tc.forbidden)
				}
				wantRefusals := uint64(0)
				if tc.forbidden {
					wantRefusals = 1
				}
				if got := s.Stats().PeerRefusals; got != wantRefusals {
					t.Fatalf("PeerRefusals = %d, want %d", got, wantRefusals)
				}
			})
		}
	}
}

// TestTURNRelayPorts relays to an allowed local peer through both client transports: the echo
// peer on an AllowPorts port answers through the relay, while a datagram to another local port
// never leaves the relay, and one from that port never reaches the client.
func TestTURNRelayPorts(t *testing.T) {
	echo := newPeer(t, true)
	sink := newPeer(t, false)
	cfg := testConfig()
	cfg.AllowPeers = []netip.Prefix{prefix("127.0.0.1/32")}
	cfg.AllowPorts = []uint16{echo.port}
	s := startServer(t, cfg)
	for _, over := range []transport{overUDP, overTCP} {
		t.Run(string(over), func(t *testing.T) {
			relay := allocate(t, s, over, "alice")
			before := s.Stats().PeerRefusals
			// The server handles the client's datagrams in order, and loopback delivers at
			// once: by the time the echo comes back, the sink's datagram was either dropped or
			// is waiting in its socket.
			if _, err := relay.WriteTo([]byte("to sink"), sink.addr()); err != nil {
				t.Fatal(err)
			}
			// The sink writes to the relay before the echo does: the relay socket reads it
			// first, so the client would see it first if it got through.
			if _, err := sink.conn.WriteToUDP([]byte("from sink"), relay.LocalAddr().(*net.UDPAddr)); err != nil {
				t.Fatal(err)
			}
			if _, err := relay.WriteTo([]byte("ping "+string(over)), echo.addr()); err != nil {
				t.Fatal(err)
			}
			got, from := readFrom(t, relay)
			if got != "ping "+string(over) || from.String() != echo.addr().String() {
				t.Fatalf("relay read %q from %v, want the echo from %v", got, from, echo.addr())
			}
			if got := sink.pending(t); len(got) != 0 {
				t.Fatalf("sink received %q through the relay", got)
			}
			if got := s.Stats().PeerRefusals; got != before+2 {
				t.Fatalf("PeerRefusals = %d, want %d (one datagram each way)", got, before+2)
			}
		})
	}
}

// TestTURNRelayAllPorts checks that without AllowPorts an allowed peer is reachable on any port.
func TestTURNRelayAllPorts(t *testing.T) {
	echo := newPeer(t, true)
	cfg := testConfig()
	cfg.AllowPeers = []netip.Prefix{prefix("127.0.0.0/8")}
	s := startServer(t, cfg)
	relay := allocate(t, s, overUDP, "alice")
	if _, err := relay.WriteTo([]byte("hello"), echo.addr()); err != nil {
		t.Fatal(err)
	}
	if got, _ := readFrom(t, relay); got != "hello" {
		t.Fatalf("relay read %q", got)
	}
	if got := s.Stats().PeerRefusals; got != 0 {
		t.Fatalf("PeerRefusals = %d", got)
	}
}

func TestTURNTCPRelayRefused(t *testing.T) {
	s := startServer(t, testConfig())
	c := credential("alice")
	_, err := dial(t, s, overTCP, c.Username, c.Password).AllocateTCP()
	if code := turnCode(err); code != stun.CodeInsufficientCapacity {
		t.Fatalf("AllocateTCP: %v (code %d), want 508", err, code)
	}
	if n := s.Stats().Allocations; n != 0 {
		t.Fatalf("Allocations = %d", n)
	}
}

func TestTURNNewErrors(t *testing.T) {
	taken, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		name    string
		edit    func(*Config)
		wantErr error
		wantMsg string
	}{
		{"no listen", func(c *Config) { c.Listen = "" }, ErrConfig, "Listen is required"},
		{"bad listen", func(c *Config) { c.Listen = "127.0.0.1" }, ErrConfig, `Listen "127.0.0.1"`},
		{"no relay", func(c *Config) { c.RelayIP = nil }, ErrConfig, "RelayIP is required"},
		{"unspecified relay", func(c *Config) { c.RelayIP = net.IPv4zero }, ErrConfig, "RelayIP is required"},
		{"no secret", func(c *Config) { c.Secret = "" }, ErrConfig, "Secret is required"},
		{"ports", func(c *Config) { c.RelayPortMin, c.RelayPortMax = 5000, 4000 }, ErrConfig, "relay ports 5000-4000"},
		{"half tls", func(c *Config) { c.TLSListen = "127.0.0.1:0" }, ErrConfig, "go together"},
		{"port taken", func(c *Config) { c.Listen = taken.LocalAddr().String() }, nil, "listen udp " + taken.LocalAddr().String()},
		{"missing cert", func(c *Config) {
			c.TLSListen, c.CertFile, c.KeyFile = "127.0.0.1:0", "/nonexistent/c.pem", "/nonexistent/k.pem"
		},
			nil, "/nonexistent/c.pem"},
		{"relay not local", func(c *Config) { c.RelayIP = net.IPv4(192, 0, 2, 1) }, nil, "cannot bind 192.0.2.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			tc.edit(&cfg)
			s, err := New(cfg)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("err = %q, want it to contain %q", err, tc.wantMsg)
			}
		})
	}
}
