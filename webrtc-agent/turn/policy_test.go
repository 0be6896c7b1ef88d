package turn

import (
	"net"
	"net/netip"
	"testing"
)

func TestTURNPolicyPublic(t *testing.T) {
	for _, tc := range []struct {
		ip     string
		public bool
	}{
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"100.63.255.255", true},
		{"100.128.0.0", true},
		{"172.32.0.1", true},
		{"2606:4700:4700::1111", true},
		{"2a00:1450:4001::1", true},
		{"::ffff:8.8.8.8", true},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"10.0.0.1", false},
		{"100.64.0.1", false},
		{"100.127.255.254", false},
		{"127.0.0.1", false},
		{"127.255.0.9", false},
		{"169.254.169.254", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.0.0.8", false},
		{"192.0.2.1", false},
		{"192.88.99.1", false},
		{"192.168.1.1", false},
		{"198.18.0.1", false},
		{"198.19.255.255", false},
		{"198.51.100.7", false},
		{"203.0.113.9", false},
		{"224.0.0.251", false},
		{"239.255.255.250", false},
		{"240.0.0.1", false},
		{"255.255.255.255", false},
		{"::", false},
		{"::1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"::10.0.0.1", false},          // IPv4-compatible
		{"64:ff9b::a00:1", false},      // NAT64 of 10.0.0.1
		{"100::1", false},              // discard
		{"fc00::1", false},             // ULA
		{"fd12:3456::1", false},        // ULA
		{"fe80::1", false},             // link-local
		{"fe80::1%lo", false},          // zoned
		{"fec0::1", false},             // site-local
		{"ff02::1", false},             // multicast
		{"2001:db8::1", false},         // documentation
		{"2001:0:4136:e378::1", false}, // Teredo
		{"2002:a00:1::1", false},       // 6to4 of 10.0.0.1
		{"3fff::1", false},             // documentation
		{"4000::1", false},             // unassigned
		{"2001:200::1", true},          // outside 2001::/23
		{"2400:cb00:2048:1::c629:d7a2", true},
	} {
		t.Run(tc.ip, func(t *testing.T) {
			if got := isPublic(netip.MustParseAddr(tc.ip)); got != tc.public {
				t.Fatalf("isPublic(%s) = %v, want %v", tc.ip, got, tc.public)
			}
		})
	}
	if isPublic(netip.Addr{}) {
		t.Fatal("the zero Addr is public")
	}
}

func TestTURNPolicyAdmit(t *testing.T) {
	p := newPeerPolicy(
		[]netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("::ffff:127.0.0.1/128"), netip.MustParsePrefix("8.8.4.4/32")},
		[]uint16{5000, 5001},
		[]netip.Addr{netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("::ffff:93.184.216.34")},
	)
	for _, tc := range []struct {
		peer string
		ok   bool
	}{
		{"8.8.8.8:53", true},             // public: any port
		{"8.8.4.4:53", true},             // public and allowed: any port
		{"10.1.2.3:5000", true},          // allowed prefix, allowed port
		{"10.1.2.3:5001", true},          // allowed prefix, allowed port
		{"10.1.2.3:22", false},           // allowed prefix, other port
		{"[::ffff:10.1.2.3]:5000", true}, // mapped form of an allowed peer
		{"[::ffff:10.1.2.3]:80", false},  // mapped form, other port
		{"10.2.0.1:5000", false},         // private, not allowed
		{"127.0.0.1:5000", true},         // allowed through a mapped prefix
		{"127.0.0.1:6379", false},        // allowed address, other port
		{"127.0.0.2:5000", false},        // loopback, not allowed
		{"93.184.216.34:443", false},     // the server's own public address
		{"169.254.169.254:80", false},    // metadata
		{"[fe80::1]:5000", false},        // link-local
		{"[2606:4700::1111]:3478", true}, // public IPv6
		{"[2001:db8::1]:5000", false},    // documentation
	} {
		t.Run(tc.peer, func(t *testing.T) {
			if got := p.admit(netip.MustParseAddrPort(tc.peer)); got != tc.ok {
				t.Fatalf("admit(%s) = %v, want %v", tc.peer, got, tc.ok)
			}
		})
	}
	// Without AllowPorts an allowed peer is reachable on every port.
	open := newPeerPolicy([]netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, nil, nil)
	if !open.admit(netip.MustParseAddrPort("10.1.2.3:22")) {
		t.Fatal("allowed peer refused without AllowPorts")
	}
	if !open.admitIP(netip.MustParseAddr("10.1.2.3")) || !p.admitIP(netip.MustParseAddr("10.1.2.3")) {
		t.Fatal("admitIP refused an allowed peer")
	}
	if p.admitIP(netip.MustParseAddr("10.2.0.1")) {
		t.Fatal("admitIP admitted a private address outside the rules")
	}
	// Media addresses added later are reachable on their own port only, beside the rules
	// that were there (whose ports stay as they were).
	media := open.with([]netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:40000"), netip.MustParseAddrPort("10.9.0.1:40001")})
	for peer, want := range map[string]bool{
		"127.0.0.1:40000": true, "127.0.0.1:40001": false, "10.9.0.1:40001": true, "10.9.0.1:40000": false,
		"10.1.2.3:22": true, "127.0.0.1:3000": false,
	} {
		if got := media.admit(netip.MustParseAddrPort(peer)); got != want {
			t.Errorf("with media: admit(%s) = %v, want %v", peer, got, want)
		}
	}
	if open.admit(netip.MustParseAddrPort("127.0.0.1:40000")) {
		t.Fatal("with changed the policy it was called on")
	}
}

func TestTURNPolicyAddrPort(t *testing.T) {
	udp := &net.UDPAddr{IP: net.ParseIP("10.0.0.1"), Port: 9}
	if got := addrPort(udp); got.Port() != 9 || got.Addr().Unmap() != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("addrPort(%v) = %v", udp, got)
	}
	tcp := &net.TCPAddr{IP: net.ParseIP("::1"), Port: 7}
	if got := addrPort(tcp); got != netip.MustParseAddrPort("[::1]:7") {
		t.Fatalf("addrPort(%v) = %v", tcp, got)
	}
}
