// Package egress decides which network addresses the streaming agent's ffmpeg may reach for
// a streaming-in source or a streaming-out destination. A tenant names those URLs, so without
// a policy it could make the server fetch its own management API, a cloud metadata service
// or anything else on the deployment's private network (server-side request forgery), and
// probe ports by the errors it gets back.
//
// By default only public unicast addresses are allowed: loopback, private (RFC 1918, RFC
// 4193), shared (RFC 6598, which also holds some cloud metadata services), link-local (which
// holds 169.254.169.254), multicast, unspecified and reserved addresses are refused, checked
// on every address the host name resolves to. The operator allows further prefixes in the
// configuration (streaming.allowTargets).
//
// The check must hold when ffmpeg connects, not only when the request arrives: a host name
// can resolve to a public address for the check and to a private one a second later (DNS
// rebinding). So the checked address is pinned: ffmpeg gets the URL with the address in
// place of the name, and the name where its protocol needs it (the RTMP tcUrl, the HTTP Host
// header). TLS URLs (rtmps, https) keep their name, since the certificate and SNI need it;
// their residual risk is that a rebinding lands a TLS handshake on an internal service.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// ErrRefused is returned for a URL whose host is (or resolves to) an address the policy
// does not allow.
var ErrRefused = errors.New("target address not allowed")

// ErrUnresolved is returned when the host name does not resolve.
var ErrUnresolved = errors.New("target host does not resolve")

// refused are the ranges not reachable by default (besides loopback, link-local,
// multicast and unspecified, which netip classifies itself).
var refused = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network"
	netip.MustParsePrefix("10.0.0.0/8"),         // RFC 1918
	netip.MustParsePrefix("100.64.0.0/10"),      // RFC 6598 shared space (Alibaba metadata 100.100.100.200)
	netip.MustParsePrefix("172.16.0.0/12"),      // RFC 1918
	netip.MustParsePrefix("192.0.0.0/24"),       // IETF protocol assignments
	netip.MustParsePrefix("192.168.0.0/16"),     // RFC 1918
	netip.MustParsePrefix("198.18.0.0/15"),      // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),        // reserved, broadcast
	netip.MustParsePrefix("fc00::/7"),           // unique local (AWS metadata fd00:ec2::254)
	netip.MustParsePrefix("64:ff9b:1::/48"),     // local-use NAT64
	netip.MustParsePrefix("100::/64"),           // discard
	netip.MustParsePrefix("2001:db8::/32"),      // documentation
	netip.MustParsePrefix("2002::/16"),          // 6to4: embeds any IPv4 address
	netip.MustParsePrefix("2001::/32"),          // Teredo: embeds any IPv4 address
	netip.MustParsePrefix("192.88.99.0/24"),     // 6to4 relay anycast
	netip.MustParsePrefix("169.254.0.0/16"),     // link-local (169.254.169.254 metadata)
	netip.MustParsePrefix("255.255.255.255/32"), // broadcast
}

// Resolver looks up the addresses of a host name.
type Resolver func(ctx context.Context, host string) ([]netip.Addr, error)

// Policy decides which addresses may be reached. The zero value refuses every non-public
// address and resolves names with the system resolver.
type Policy struct {
	allow   []netip.Prefix
	resolve Resolver
}

// New returns a policy that also allows the given prefixes or addresses ("10.1.0.0/16",
// "127.0.0.1"); resolve nil means the system resolver.
func New(allow []string, resolve Resolver) (*Policy, error) {
	p := &Policy{resolve: resolve}
	for _, a := range allow {
		pr, err := ParseAllow(a)
		if err != nil {
			return nil, err
		}
		p.allow = append(p.allow, pr)
	}
	return p, nil
}

// ParseAllow parses one allow-list entry: a prefix or a single address.
func ParseAllow(s string) (netip.Prefix, error) {
	if pr, err := netip.ParsePrefix(s); err == nil {
		return pr.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("egress: %q is not an address or prefix", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Allowed reports whether a may be reached.
func (p *Policy) Allowed(a netip.Addr) bool {
	a = a.WithZone("")
	for _, pr := range p.allowList() {
		if pr.Contains(a) || (a.Is4In6() && pr.Contains(a.Unmap())) {
			return true
		}
	}
	if a.Is4In6() {
		return p.Allowed(a.Unmap())
	}
	if embedded, ok := nat64(a); ok {
		return p.Allowed(embedded)
	}
	if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() || a.IsPrivate() || !a.IsValid() {
		return false
	}
	for _, pr := range refused {
		if pr.Contains(a) {
			return false
		}
	}
	return true
}

func (p *Policy) allowList() []netip.Prefix {
	if p == nil {
		return nil
	}
	return p.allow
}

// nat64 returns the IPv4 address embedded in a well-known-prefix NAT64 address.
func nat64(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() || !netip.MustParsePrefix("64:ff9b::/96").Contains(a) {
		return netip.Addr{}, false
	}
	b := a.As16()
	return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
}

// Target is a URL that passed the policy, pinned to the address that was checked.
type Target struct {
	// URL is what ffmpeg is given: the host replaced by the checked address (except for
	// TLS schemes, which keep the name).
	URL string
	// Host is the host name of the original URL, Addr the address checked.
	Host string
	Addr netip.Addr
	// RTMPTCURL is the tcUrl that keeps the host name for an RTMP server (ffmpeg's
	// -rtmp_tcurl), "" for other schemes or when the URL held an address.
	RTMPTCURL string
	// HTTPHost is the Host header that keeps the host name for plain HTTP, "" otherwise.
	HTTPHost string
}

// tlsSchemes keep their host name in the URL (certificate validation and SNI need it).
var tlsSchemes = map[string]bool{"https": true, "rtmps": true, "tls": true, "rtsps": true}

// Check resolves the URL's host, refuses it unless every address it resolves to is allowed,
// and returns it pinned to the first one. The error names the reason but never the result of
// a connection attempt: no connection is made.
func (p *Policy) Check(ctx context.Context, raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Target{}, fmt.Errorf("%w: invalid url", ErrRefused)
	}
	host := u.Hostname()
	addrs, err := p.lookup(ctx, host)
	if err != nil {
		return Target{}, err
	}
	for _, a := range addrs {
		if !p.Allowed(a) {
			return Target{}, fmt.Errorf("%w: %s is %s", ErrRefused, host, describe(a))
		}
	}
	t := Target{URL: raw, Host: host, Addr: addrs[0]}
	scheme := strings.ToLower(u.Scheme)
	if tlsSchemes[scheme] {
		return t, nil
	}
	literal := host == addrs[0].String() || strings.EqualFold(strings.Trim(host, "[]"), addrs[0].String())
	if literal {
		return t, nil
	}
	pinned := *u
	if port := u.Port(); port != "" {
		pinned.Host = net.JoinHostPort(addrs[0].String(), port)
	} else if addrs[0].Is6() {
		pinned.Host = "[" + addrs[0].String() + "]"
	} else {
		pinned.Host = addrs[0].String()
	}
	t.URL = pinned.String()
	switch scheme {
	case "rtmp", "rtmpt":
		t.RTMPTCURL = tcURL(u)
	case "http":
		t.HTTPHost = u.Host
	}
	return t, nil
}

// lookup resolves host (an address literal resolves to itself).
func (p *Policy) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return []netip.Addr{a}, nil
	}
	resolve := net.DefaultResolver.LookupNetIP
	var r Resolver = func(ctx context.Context, h string) ([]netip.Addr, error) { return resolve(ctx, "ip", h) }
	if p != nil && p.resolve != nil {
		r = p.resolve
	}
	addrs, err := r(ctx, host)
	if err != nil || len(addrs) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrUnresolved, host)
	}
	return addrs, nil
}

// tcURL is ffmpeg's default RTMP tcUrl for u: scheme://host[:port]/app, app being the first
// path segment (ffmpeg takes two when the first is followed by more than the stream name,
// as in "live/_definst_/stream"; one is what RTMP servers route on).
func tcURL(u *url.URL) string {
	app := strings.TrimPrefix(u.Path, "/")
	if i := strings.IndexByte(app, '/'); i >= 0 {
		app = app[:i]
	}
	return u.Scheme + "://" + u.Host + "/" + app
}

// describe names the kind of a refused address without more detail.
func describe(a netip.Addr) string {
	switch {
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate():
		return "a private address"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a.IsMulticast():
		return "a multicast address"
	case a.IsUnspecified():
		return "an unspecified address"
	}
	return "a reserved or internal address"
}

// InputArgs are the ffmpeg (or ffprobe) options, placed before -i, that keep the pinned
// URL's host name where its protocol needs it.
func (t Target) InputArgs() []string {
	switch {
	case t.RTMPTCURL != "":
		return []string{"-rtmp_tcurl", t.RTMPTCURL}
	case t.HTTPHost != "":
		return []string{"-headers", "Host: " + t.HTTPHost + "\r\n"}
	}
	return nil
}

// OutputArgs are the same options for an output (placed before the output URL): the RTMP
// tcUrl, and the Host header of the HLS and DASH muxers' HTTP uploads.
func (t Target) OutputArgs() []string { return t.InputArgs() }
