package iceconfig

import (
	"slices"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/config"
	"github.com/conclave-rtc/conclave/common/turncred"
)

func TestIssuerServers(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	i := NewIssuer([]string{"stun:h:3478", "turn:h:3478?transport=udp", "turns:h:5349?transport=tcp"}, "s3cret", time.Hour)
	servers, expires := i.Servers("alice", now)
	if len(servers) != 2 || !slices.Equal(servers[0].URLs, []string{"stun:h:3478"}) || servers[0].Username != "" {
		t.Fatalf("servers %+v", servers)
	}
	turn := servers[1]
	if !slices.Equal(turn.URLs, []string{"turn:h:3478?transport=udp", "turns:h:5349?transport=tcp"}) ||
		turn.Username != "1800003600:alice" || !expires.Equal(now.Add(time.Hour)) {
		t.Fatalf("turn entry %+v, expires %v", turn, expires)
	}
	if turn.Credential != turncred.Password("s3cret", turn.Username) {
		t.Fatalf("credential %q is not the TURN REST API password", turn.Credential)
	}
	if user, err := turncred.Check("s3cret", turn.Username, now); err != nil || user != "alice" {
		t.Fatalf("check: %q %v", user, err)
	}
	for _, empty := range []*Issuer{nil, NewIssuer(nil, "x", time.Hour)} {
		if s, exp := empty.Servers("bob", now); s == nil || len(s) != 0 || !exp.IsZero() {
			t.Fatalf("no URLs: %+v %v", s, exp)
		}
	}
	if s, exp := NewIssuer([]string{"stun:h"}, "", time.Hour).Servers("bob", now); len(s) != 1 || !exp.IsZero() {
		t.Fatalf("stun only: %+v %v", s, exp)
	}
}

func TestURLs(t *testing.T) {
	on := func(f func(*config.TURNConfig)) config.TURNConfig {
		c := config.Default().TURN
		f(&c)
		return c
	}
	tests := []struct {
		name             string
		cfg              config.TURNConfig
		portal           string
		udpPort, tlsPort int
		want             []string
	}{
		{"defaults", on(func(*config.TURNConfig) {}), "10.0.0.5:8080", 0, 0,
			[]string{"stun:10.0.0.5:3478", "turn:10.0.0.5:3478?transport=udp", "turn:10.0.0.5:3478?transport=tcp"}},
		{"listen port and host", on(func(c *config.TURNConfig) { c.Listen, c.Host = "0.0.0.0:3479", "turn.example.org" }), "10.0.0.5:8080", 0, 0,
			[]string{"stun:turn.example.org:3479", "turn:turn.example.org:3479?transport=udp", "turn:turn.example.org:3479?transport=tcp"}},
		{"actual ports and tls", on(func(c *config.TURNConfig) { c.Listen, c.TLSListen = "127.0.0.1:0", "127.0.0.1:0" }), "127.0.0.1:8080", 40001, 40002,
			[]string{"stun:127.0.0.1:40001", "turn:127.0.0.1:40001?transport=udp", "turn:127.0.0.1:40001?transport=tcp", "turns:127.0.0.1:40002?transport=tcp"}},
		{"ipv6 host", on(func(c *config.TURNConfig) { c.Host = "2001:db8::1" }), "", 0, 0,
			[]string{"stun:[2001:db8::1]:3478", "turn:[2001:db8::1]:3478?transport=udp", "turn:[2001:db8::1]:3478?transport=tcp"}},
		{"ephemeral port unknown", on(func(c *config.TURNConfig) { c.Listen = "127.0.0.1:0" }), "127.0.0.1:8080", 0, 0, nil},
		{"configured", on(func(c *config.TURNConfig) { c.URLs = []string{"turn:coturn:3478"} }), "x:1", 9, 9, []string{"turn:coturn:3478"}},
		{"disabled", on(func(c *config.TURNConfig) { c.Enabled = false }), "10.0.0.5:8080", 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := URLs(tt.cfg, tt.portal, tt.udpPort, tt.tlsPort); !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
