package transport

import (
	"log/slog"
	"net"
	"testing"
)

func TestTransportLoopbackFallback(t *testing.T) {
	lo := hostInterface{name: "lo", flags: net.FlagUp | net.FlagLoopback, ips: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}}
	eth := hostInterface{name: "eth0", flags: net.FlagUp, ips: []net.IP{net.IPv4(192, 0, 2, 10)}}
	down := hostInterface{name: "eth1", ips: []net.IP{net.IPv4(192, 0, 2, 11)}}
	linkLocal := hostInterface{name: "eth2", flags: net.FlagUp, ips: []net.IP{net.ParseIP("fe80::1")}}
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name string
		cfg  NetConfig
		ifs  []hostInterface
		want bool
	}{
		{"loopback only", NetConfig{}, []hostInterface{lo}, true},
		{"down or link-local only", NetConfig{}, []hostInterface{lo, down, linkLocal}, true},
		{"a routable interface", NetConfig{}, []hostInterface{lo, eth}, false},
		{"interfaces configured", NetConfig{Interfaces: []string{"eth0"}}, []hostInterface{lo}, false},
		{"already on", NetConfig{IncludeLoopback: true}, []hostInterface{lo, eth}, true},
	} {
		if got := loopbackFallback(tc.cfg, tc.ifs, log).IncludeLoopback; got != tc.want {
			t.Errorf("%s: IncludeLoopback = %v, want %v", tc.name, got, tc.want)
		}
	}
}
