package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   string // "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"listen without host", func(c *Config) { c.Management.Listen = ":3000" }, ""},
		{"listen not host:port", func(c *Config) { c.Management.Listen = "abc" }, `management.listen: "abc" is not host:port`},
		{"listen bad port", func(c *Config) { c.Portal.Listen = "0.0.0.0:70000" }, `portal.listen: "0.0.0.0:70000" is not host:port`},
		{"public host needs host", func(c *Config) { c.Portal.PublicHost = ":8080" }, `portal.publicHost: ":8080" is not host:port`},
		{"public host needs port", func(c *Config) { c.Portal.PublicHost = "h:0" }, `portal.publicHost: "h:0" is not host:port`},
		{"public host ok", func(c *Config) { c.Portal.PublicHost = "10.0.0.5:8080" }, ""},
		{"via host ok", func(c *Config) { c.Portal.ViaHost = "https://rtc.example.org:443" }, ""},
		{"via host scheme", func(c *Config) { c.Portal.ViaHost = "rtc.example.org" }, "portal.viaHost: must be a http:// or https:// URL with a host"},
		{"super id short", func(c *Config) { c.SuperService = SuperServiceConfig{ID: "abc", Key: "k"} }, "superService.id: must be 24 hex characters"},
		{"super id without key", func(c *Config) { c.SuperService.ID = "0123456789abcdef01234567" }, "superService.key: must be set together with superService.id"},
		{"super key without id", func(c *Config) { c.SuperService.Key = "k" }, "superService.key: must be set together with superService.id"},
		{"cluster key length", func(c *Config) { c.ClusterKey = "AAAA" }, "clusterKey: must be the base64 encoding of 32 bytes"},
		{"cluster key base64", func(c *Config) { c.ClusterKey = "!!" }, "clusterKey: must be the base64 encoding of 32 bytes"},
		{"bus url scheme", func(c *Config) { c.Bus.URL = "amqpx://h/" }, "bus.url: must be a amqp:// or amqps:// URL with a host"},
		{"bus url host", func(c *Config) { c.Bus.URL = "amqp:///" }, "bus.url: must be a amqp:// or amqps:// URL with a host"},
		{"bus prefix chars", func(c *Config) { c.Bus.Prefix = "a b" }, `bus.prefix: "a b" must be letters, digits, '.', '_' or '-'`},
		{"bus prefix empty", func(c *Config) { c.Bus.Prefix = "" }, `bus.prefix: "" must be letters, digits, '.', '_' or '-'`},
		{"mongo scheme", func(c *Config) { c.Store.MongoURI = "postgres://h/" }, "store.mongoURI: must be a mongodb:// or mongodb+srv:// URL with a host"},
		{"mongo srv", func(c *Config) { c.Store.MongoURI = "mongodb+srv://cluster0.example.net/" }, ""},
		{"mongo database", func(c *Config) { c.Store.MongoDatabase = "a.b" }, `store.mongoDatabase: "a.b" is not a valid MongoDB database name`},
		{"body limit", func(c *Config) { c.Management.BodyLimit = 0 }, "management.bodyLimit: must be positive"},
		{"replay window", func(c *Config) { c.Management.ReplayWindow = -time.Second }, "management.replayWindow: must not be negative"},
		{"cache ttl zero ok", func(c *Config) { c.Management.CacheTTL = 0 }, ""},
		{"turn listen", func(c *Config) { c.TURN.Listen = "3478" }, `turn.listen: "3478" is not host:port`},
		{"turn tls incomplete", func(c *Config) { c.TURN.TLSListen = ":5349" }, "turn.tlsListen: tlsListen, certFile and keyFile go together"},
		{"turn tls ok", func(c *Config) { c.TURN.TLSListen, c.TURN.CertFile, c.TURN.KeyFile = ":5349", "c.pem", "k.pem" }, ""},
		{"turn host", func(c *Config) { c.TURN.Host = "a b" }, `turn.host: "a b" is not a host name or IP address`},
		{"turn host ok", func(c *Config) { c.TURN.Host = "turn.example.org" }, ""},
		{"turn relay ip", func(c *Config) { c.TURN.RelayIP = "turn.example.org" }, `turn.relayIP: "turn.example.org" is not an IP address`},
		{"turn ports", func(c *Config) { c.TURN.RelayPortMin, c.TURN.RelayPortMax = 50000, 40000 }, "turn.relayPortMin: relay ports 50000-40000: want 1 <= relayPortMin <= relayPortMax <= 65535, or both 0"},
		{"turn ports ok", func(c *Config) { c.TURN.RelayPortMin, c.TURN.RelayPortMax = 49152, 49252 }, ""},
		{"turn ttl", func(c *Config) { c.TURN.CredentialTTL = 0 }, "turn.credentialTTL: must be positive"},
		{"turn url scheme", func(c *Config) { c.TURN.URLs = []string{"http://x"} }, `turn.urls: "http://x": want a stun:, stuns:, turn: or turns: URL`},
		{"turn url query", func(c *Config) { c.TURN.URLs = []string{"turn:x:3478?transport=sctp"} }, `turn.urls: "turn:x:3478?transport=sctp": the only query is transport=udp or transport=tcp`},
		{"turn urls ok", func(c *Config) {
			c.TURN.URLs = []string{"stun:[2001:db8::1]:3478", "turn:turn.example.org?transport=tcp", "turns:turn.example.org:5349?transport=tcp"}
		}, ""},
		{"rate limit", func(c *Config) { c.Management.RateLimit = -1 }, "management.rateLimit: must not be negative"},
		{"isps", func(c *Config) { c.Portal.ISPs = []string{"a", ""} }, "portal.isps: must not contain empty names"},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, `log.format: "xml" is not one of text, json`},
		{"strategy", func(c *Config) { c.Cluster.Strategies["webrtc"] = "least-prior" }, `cluster.strategies: webrtc: unknown strategy "least-prior"`},
		{"heartbeat", func(c *Config) { c.Cluster.Heartbeat = 0 }, "cluster.heartbeat: must be positive"},
		{"shutdown", func(c *Config) { c.ShutdownTimeout = 0 }, "shutdownTimeout: must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestConfigValidateReportsAll(t *testing.T) {
	c := Default()
	c.DataDir, c.Log.Level = "", "loud"
	err := c.Validate()
	if got := strings.Split(err.Error(), "\n"); len(got) != 2 || !strings.HasPrefix(got[0], "dataDir:") || !strings.HasPrefix(got[1], "log.level:") {
		t.Fatalf("Validate = %q, want both problems in key order", err)
	}
}

func TestConfigDistributedAndRedacted(t *testing.T) {
	c := Default()
	if c.Distributed() {
		t.Fatal("default config is distributed")
	}
	c.Bus.URL = "amqp://user:buspass@127.0.0.1:5672/"
	c.Store.MongoURI = "mongodb://admin:dbpass@127.0.0.1:27017/"
	c.ClusterKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	c.SuperService = SuperServiceConfig{ID: "0123456789abcdef01234567", Key: "superkey"}
	c.Portal.ISPs = []string{"isp"}
	if !c.Distributed() {
		t.Fatal("config with bus and mongo is not distributed")
	}
	r := c.Redacted()
	text := strings.Join([]string{r.Bus.URL, r.Store.MongoURI, r.ClusterKey, r.SuperService.Key}, " ")
	for _, secret := range []string{"buspass", "dbpass", c.ClusterKey, "superkey"} {
		if strings.Contains(text, secret) {
			t.Fatalf("Redacted leaks %q: %s", secret, text)
		}
	}
	if r.ClusterKey != "***" || r.SuperService.ID != c.SuperService.ID || !strings.Contains(r.Bus.URL, "user:") {
		t.Fatalf("Redacted = %+v", r)
	}
	r.Portal.ISPs[0] = "changed"
	r.Cluster.Strategies["portal"] = "changed"
	if c.Portal.ISPs[0] != "isp" || c.Cluster.Strategies["portal"] != "last-used" || c.SuperService.Key != "superkey" {
		t.Fatal("Redacted modified the original")
	}
	if Default().Redacted().ClusterKey != "" {
		t.Fatal("empty key redacted to non-empty")
	}
}

func TestConfigPortalPublicAddr(t *testing.T) {
	tests := []struct{ listen, public, want string }{
		{"0.0.0.0:8080", "", "127.0.0.1:8080"},
		{"[::]:8080", "", "127.0.0.1:8080"},
		{":9000", "", "127.0.0.1:9000"},
		{"10.1.2.3:8080", "", "10.1.2.3:8080"},
		{"[::1]:8080", "", "[::1]:8080"},
		{"0.0.0.0:8080", "rtc.example.org:443", "rtc.example.org:443"},
	}
	for _, tt := range tests {
		p := PortalConfig{Listen: tt.listen, PublicHost: tt.public}
		if got := p.PublicAddr(); got != tt.want {
			t.Errorf("PublicAddr(%q, %q) = %q, want %q", tt.listen, tt.public, got, tt.want)
		}
	}
}

func FuzzConfigParse(f *testing.F) {
	f.Add([]byte("dataDir: x\nbus: {url: 'amqp://h/'}\n"))
	f.Add([]byte("cluster:\n  strategies: {a: b}\n  heartbeat: 1s\n"))
	f.Add([]byte("portal: {isps: [a, b], listen: ':1'}\nshutdownTimeout: 1m\n"))
	f.Add([]byte("management: {bodyLimit: -1, rateLimit: .5}\n---\nx: 1\n"))
	f.Add([]byte("a: &x {b: *x}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Default()
		if err := c.Parse(data); err != nil {
			return
		}
		_ = c.Validate()
		_ = c.Redacted()
		_ = c.Portal.PublicAddr()
	})
}
