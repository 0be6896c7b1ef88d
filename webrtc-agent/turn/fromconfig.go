package turn

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/conclave-rtc/conclave/common/config"
	"github.com/conclave-rtc/conclave/common/secret"
	"github.com/conclave-rtc/conclave/common/turncred"
)

// DefaultListen is the listen address FromConfig uses when turn.listen is empty.
const DefaultListen = "0.0.0.0:3478"

// FromConfig turns the config file's turn section into a Config, with the rules both binaries
// share (the all-in-one fills c.Listen with its own default first, and adds its webrtc agent's
// addresses and ports to AllowPeers and AllowPorts itself):
//   - Listen: turn.listen, else DefaultListen.
//   - RelayIP: turn.relayIP, else turn.host when it is an IP address, else the listen host when
//     it names one; otherwise an error asks for turn.relayIP.
//   - RelayBind: RelayIP when it is an address of this host, else the listen host, else the
//     unspecified address, so that behind a 1:1 NAT turn.relayIP can be the public address.
//   - Secret: turn.secret, else turncred.SecretFromKey(key); an error when both are missing.
//   - AllowPeers: turn.allowPeers, addresses (/32 or /128) or CIDR prefixes.
//   - TLS when turn.tlsListen is set (config validation requires the certificate and key).
func FromConfig(c config.TURNConfig, key secret.Key, log *slog.Logger) (Config, error) {
	cfg := Config{
		Listen:       c.Listen,
		RelayPortMin: c.RelayPortMin,
		RelayPortMax: c.RelayPortMax,
		UserQuota:    c.UserQuota,
		Secret:       c.Secret,
		Logger:       log,
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if c.TLSListen != "" {
		cfg.TLSListen, cfg.CertFile, cfg.KeyFile = c.TLSListen, c.CertFile, c.KeyFile
	}
	if cfg.Secret == "" {
		cfg.Secret = turncred.SecretFromKey(key)
	}
	if cfg.Secret == "" {
		return Config{}, errors.New("turn.secret (CONCLAVE_TURN_SECRET) or clusterKey (CONCLAVE_CLUSTER_KEY) is required: the TURN credentials are signed with it")
	}
	listenHost := specificIP(hostOf(cfg.Listen))
	relay, err := relayIP(c, listenHost)
	if err != nil {
		return Config{}, err
	}
	cfg.RelayIP = relay.AsSlice()
	cfg.RelayBind = relayBind(relay, listenHost)
	if cfg.AllowPeers, err = parsePeers(c.AllowPeers); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// relayIP applies the RelayIP rule of FromConfig.
func relayIP(c config.TURNConfig, listenHost netip.Addr) (netip.Addr, error) {
	if c.RelayIP != "" {
		ip, err := netip.ParseAddr(c.RelayIP)
		if err != nil || ip.IsUnspecified() {
			return netip.Addr{}, fmt.Errorf("turn.relayIP: %q is not a specific IP address", c.RelayIP)
		}
		return ip.Unmap(), nil
	}
	if ip := specificIP(c.Host); ip.IsValid() {
		return ip, nil
	}
	if listenHost.IsValid() {
		return listenHost, nil
	}
	return netip.Addr{}, errors.New("turn.relayIP is required: turn.host is not an IP address and turn.listen does not name one, and relayed candidates need the address peers reach this server at")
}

// relayBind applies the RelayBind rule of FromConfig.
func relayBind(relay, listenHost netip.Addr) string {
	for _, ip := range localAddrs() {
		if ip == relay {
			return relay.String()
		}
	}
	if listenHost.IsValid() && listenHost.Is4() == relay.Is4() {
		return listenHost.String()
	}
	if relay.Is4() {
		return "0.0.0.0"
	}
	return "::"
}

// parsePeers reads turn.allowPeers.
func parsePeers(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			ip, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("turn.allowPeers: %q is not an IP address or CIDR prefix", s)
			}
			p = netip.PrefixFrom(ip, ip.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// hostOf returns the host of a host:port ("" when it has none).
func hostOf(hostport string) string {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return ""
	}
	return host
}

// specificIP parses s as an IP address that is not unspecified; the zero Addr otherwise.
func specificIP(s string) netip.Addr {
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.IsUnspecified() {
		return netip.Addr{}
	}
	return ip.Unmap()
}
