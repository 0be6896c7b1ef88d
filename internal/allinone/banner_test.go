package allinone

import (
	"bytes"
	"net"
	"strings"
	"testing"

	"github.com/conclave-rtc/conclave/common/config"
)

func TestAllInOneBanner(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = "/var/lib/conclave"
	cfg.Portal.Listen = "0.0.0.0:8080"
	api := &net.TCPAddr{IP: net.IPv6unspecified, Port: 3000}
	portal := &net.TCPAddr{IP: net.IPv4zero, Port: 8080}
	kept := superService{ID: "65a1b2c3d4e5f60718293a4c", Key: "sekret", File: "/var/lib/conclave/super-service.json"}
	tests := []struct {
		name      string
		super     superService
		devTokens bool
		want      []string
		notWant   []string
	}{
		{"generated now", superService{ID: kept.ID, Key: "sekret", File: kept.File, Generated: true}, false,
			[]string{"sekret", "generated now", "http://127.0.0.1:3000", "http://127.0.0.1:8080", "all interfaces, port 3000",
				"set CONCLAVE_DEV_TOKENS=1", "ICE servers    : stun:127.0.0.1:3478", "TURN relaying from 127.0.0.1"}, []string{"[::]", "0.0.0.0"}},
		{"kept in the data directory", kept, true,
			[]string{"read it from /var/lib/conclave/super-service.json", "dev tokens on"}, []string{"sekret", "set CONCLAVE_DEV_TOKENS"}},
		{"configured", superService{ID: kept.ID, Key: "sekret", File: "configuration"}, false,
			[]string{"(configured; not shown)"}, []string{"sekret"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printBanner(&b, cfg, api, portal, tc.super, tc.devTokens, &relay{urls: []string{"stun:127.0.0.1:3478"}, note: "relaying from 127.0.0.1"})
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("banner lacks %q:\n%s", w, b.String())
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(b.String(), w) {
					t.Errorf("banner shows %q:\n%s", w, b.String())
				}
			}
		})
	}
}
