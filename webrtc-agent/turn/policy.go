package turn

import (
	"net"
	"net/netip"
	"slices"
)

// special4 are the IPv4 ranges a relay must not reach on a client's behalf (RFC 6890 and the
// IANA special-purpose registry): the deployment's internal networks and addresses that are
// not unicast hosts on the internet.
var special4 = prefixes(
	"0.0.0.0/8",       // "this network", unspecified
	"10.0.0.0/8",      // private (RFC 1918)
	"100.64.0.0/10",   // shared address space, CGNAT (RFC 6598)
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local, incl. cloud metadata 169.254.169.254
	"172.16.0.0/12",   // private
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // documentation TEST-NET-1
	"192.88.99.0/24",  // deprecated 6to4 relay anycast
	"192.168.0.0/16",  // private
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation TEST-NET-2
	"203.0.113.0/24",  // documentation TEST-NET-3
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, incl. broadcast
)

// global6 is the IPv6 global unicast space; everything outside it (loopback, unspecified,
// IPv4-compatible, NAT64 64:ff9b::/96, discard, ULA fc00::/7, link-local, multicast) is
// special. IPv4-mapped addresses are unmapped before any check.
var global6 = netip.MustParsePrefix("2000::/3")

// special6 are the special ranges inside global6.
var special6 = prefixes(
	"2001::/23",     // IETF protocol assignments, incl. Teredo 2001::/32 (embeds IPv4)
	"2001:db8::/32", // documentation
	"2002::/16",     // 6to4: embeds an IPv4 address, possibly a private one
	"3fff::/20",     // documentation (RFC 9637)
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// isPublic reports whether ip is a public unicast address.
func isPublic(ip netip.Addr) bool {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid() || ip.Zone() != "":
		return false
	case ip.Is4():
		return !containsAny(special4, ip)
	default:
		return global6.Contains(ip) && !containsAny(special6, ip)
	}
}

func containsAny(ps []netip.Prefix, ip netip.Addr) bool {
	return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Contains(ip) })
}

// peerPolicy decides which peers the relay may send to: public unicast addresses other than
// the server's own, and the allowed rules' prefixes, each on its ports (all ports when it
// lists none). The server's own addresses count as special: through them a client could
// reach every service on this host, whatever the firewall in front of it allows.
type peerPolicy struct {
	rules []peerRule
	self  []netip.Addr
}

// peerRule admits a prefix that is not public, on ports (empty: every port).
type peerRule struct {
	prefix netip.Prefix
	ports  []uint16
}

// newPeerPolicy admits allow on ports (every port when ports is empty).
func newPeerPolicy(allow []netip.Prefix, ports []uint16, self []netip.Addr) *peerPolicy {
	p := &peerPolicy{}
	for _, pfx := range allow {
		p.rules = append(p.rules, peerRule{prefix: unmapPrefix(pfx), ports: slices.Clone(ports)})
	}
	for _, ip := range self {
		p.self = append(p.self, ip.Unmap())
	}
	return p
}

// with returns a copy of p that also admits each address on its own port.
func (p *peerPolicy) with(addrs []netip.AddrPort) *peerPolicy {
	q := &peerPolicy{rules: slices.Clone(p.rules), self: p.self}
	for _, ap := range addrs {
		ip := ap.Addr().Unmap()
		q.rules = append(q.rules, peerRule{prefix: netip.PrefixFrom(ip, ip.BitLen()), ports: []uint16{ap.Port()}})
	}
	return q
}

// unmapPrefix turns ::ffff:a.b.c.d/n (n >= 96) into a.b.c.d/(n-96), so IPv4 peers match it.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked()
	}
	return p.Masked()
}

// admitIP is the PermissionHandler's half of the policy (permissions are per IP): some port
// of ip may be reached.
func (p *peerPolicy) admitIP(ip netip.Addr) bool {
	ip = ip.Unmap()
	if isPublic(ip) && !slices.Contains(p.self, ip) {
		return true
	}
	return slices.ContainsFunc(p.rules, func(r peerRule) bool { return r.prefix.Contains(ip) })
}

// admit is the whole policy for one peer transport address, applied to every datagram the
// relay sockets send or receive.
func (p *peerPolicy) admit(ap netip.AddrPort) bool {
	ip := ap.Addr().Unmap()
	if isPublic(ip) && !slices.Contains(p.self, ip) {
		return true
	}
	return slices.ContainsFunc(p.rules, func(r peerRule) bool {
		return r.prefix.Contains(ip) && (len(r.ports) == 0 || slices.Contains(r.ports, ap.Port()))
	})
}

// addrPort converts the net.Addr pion hands the relay sockets.
func addrPort(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String()) // invalid: never admitted
	return ap
}

// localAddrs returns the addresses of this host's interfaces at start, which the policy treats
// as the server's own; addresses that appear later are not covered.
func localAddrs() []netip.Addr {
	addrs, _ := net.InterfaceAddrs() // best effort: the relay and listen IPs are added anyway
	var out []netip.Addr
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
}
