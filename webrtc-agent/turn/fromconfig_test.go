package turn

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/common/config"
	"github.com/conclave-rtc/conclave/common/secret"
	"github.com/conclave-rtc/conclave/common/turncred"
)

func TestTURNFromConfig(t *testing.T) {
	var key secret.Key
	key[0] = 1
	base := func() config.TURNConfig { return config.Default().TURN }
	for _, tc := range []struct {
		name    string
		edit    func(*config.TURNConfig)
		key     secret.Key
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{"defaults with host IP", func(c *config.TURNConfig) { c.Host = "198.51.100.7" }, key, func(t *testing.T, c Config) {
			want(t, "Listen", c.Listen, DefaultListen)
			want(t, "RelayIP", c.RelayIP.String(), "198.51.100.7")
			want(t, "RelayBind", c.RelayBind, "0.0.0.0") // not an address of this host
			want(t, "Secret", c.Secret, turncred.SecretFromKey(key))
			want(t, "TLSListen", c.TLSListen, "")
		}, ""},
		{"relayIP wins", func(c *config.TURNConfig) {
			c.RelayIP, c.Host, c.Listen = "127.0.0.1", "198.51.100.7", "127.0.0.2:3478"
		}, key, func(t *testing.T, c Config) {
			want(t, "Listen", c.Listen, "127.0.0.2:3478")
			want(t, "RelayIP", c.RelayIP.String(), "127.0.0.1")
			want(t, "RelayBind", c.RelayBind, "127.0.0.1") // loopback is local everywhere
		}, ""},
		{"listen host", func(c *config.TURNConfig) { c.Host, c.Listen = "turn.example.org", "203.0.113.5:3478" }, key,
			func(t *testing.T, c Config) {
				want(t, "RelayIP", c.RelayIP.String(), "203.0.113.5")
				want(t, "RelayBind", c.RelayBind, "203.0.113.5")
			}, ""},
		{"NAT relay binds listen host", func(c *config.TURNConfig) { c.RelayIP, c.Listen = "198.51.100.7", "127.0.0.1:3478" }, key,
			func(t *testing.T, c Config) { want(t, "RelayBind", c.RelayBind, "127.0.0.1") }, ""},
		{"IPv6 relay", func(c *config.TURNConfig) { c.RelayIP = "2001:db8::7" }, key,
			func(t *testing.T, c Config) { want(t, "RelayBind", c.RelayBind, "::") }, ""},
		{"no relay address", func(c *config.TURNConfig) { c.Host = "turn.example.org" }, key, nil, "turn.relayIP is required"},
		{"unspecified listen", func(c *config.TURNConfig) { c.Listen = "[::]:3478" }, key, nil, "turn.relayIP is required"},
		{"bad relayIP", func(c *config.TURNConfig) { c.RelayIP = "0.0.0.0" }, key, nil, "turn.relayIP"},
		{"secret wins", func(c *config.TURNConfig) { c.Host, c.Secret = "198.51.100.7", "s3cret" }, secret.Key{},
			func(t *testing.T, c Config) { want(t, "Secret", c.Secret, "s3cret") }, ""},
		{"no secret", func(c *config.TURNConfig) { c.Host = "198.51.100.7" }, secret.Key{}, nil, "turn.secret (CONCLAVE_TURN_SECRET) or clusterKey"},
		{"allow peers", func(c *config.TURNConfig) {
			c.Host, c.AllowPeers = "198.51.100.7", []string{"10.0.0.5", "10.1.0.0/16", "fd00::1", "192.168.1.77/24"}
		}, key, func(t *testing.T, c Config) {
			wantPeers := []netip.Prefix{netip.MustParsePrefix("10.0.0.5/32"), netip.MustParsePrefix("10.1.0.0/16"),
				netip.MustParsePrefix("fd00::1/128"), netip.MustParsePrefix("192.168.1.0/24")}
			if !slices.Equal(c.AllowPeers, wantPeers) {
				t.Fatalf("AllowPeers = %v, want %v", c.AllowPeers, wantPeers)
			}
		}, ""},
		{"bad allow peer", func(c *config.TURNConfig) { c.Host, c.AllowPeers = "198.51.100.7", []string{"media.internal"} }, key, nil,
			`turn.allowPeers: "media.internal"`},
		{"tls and limits", func(c *config.TURNConfig) {
			c.Host, c.TLSListen, c.CertFile, c.KeyFile = "198.51.100.7", ":5349", "c.pem", "k.pem"
			c.RelayPortMin, c.RelayPortMax, c.UserQuota = 49152, 49200, -1
		}, key, func(t *testing.T, c Config) {
			want(t, "TLS", c.TLSListen+" "+c.CertFile+" "+c.KeyFile, ":5349 c.pem k.pem")
			if c.RelayPortMin != 49152 || c.RelayPortMax != 49200 || c.UserQuota != -1 {
				t.Fatalf("ports/quota = %d-%d/%d", c.RelayPortMin, c.RelayPortMax, c.UserQuota)
			}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.edit(&c)
			got, err := FromConfig(c, tc.key, nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, got)
		})
	}
}

func want(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

// TestTURNFromConfigRuns checks that a FromConfig result on loopback is accepted by New.
func TestTURNFromConfigRuns(t *testing.T) {
	c := config.Default().TURN
	c.Listen, c.Secret = "127.0.0.1:0", "s3cret"
	cfg, err := FromConfig(c, secret.Key{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.UDPAddr().IP.Equal(net.IPv4(127, 0, 0, 1)) || s.UDPAddr().Port != s.TCPAddr().Port {
		t.Fatalf("listening on %v and %v", s.UDPAddr(), s.TCPAddr())
	}
}
