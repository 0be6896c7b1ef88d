package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/conclave-rtc/conclave/common/cluster"
	"github.com/conclave-rtc/conclave/common/ids"
)

// ClusterKeySize is the length of the decoded cluster key.
const ClusterKeySize = 32

// check validates one key; it returns "" when the value is fine, else the problem.
type check struct {
	key string
	fn  func(c *Config) string
}

// checks lists every validation rule in key order.
func checks() []check {
	return []check{
		{"dataDir", func(c *Config) string { return nonEmpty(c.DataDir) }},
		{"clusterKey", func(c *Config) string { return clusterKey(c.ClusterKey) }},
		{"bus.url", func(c *Config) string { return optionalURL(c.Bus.URL, "amqp", "amqps") }},
		{"bus.prefix", func(c *Config) string { return busPrefix(c.Bus.Prefix) }},
		{"store.mongoURI", func(c *Config) string { return optionalURL(c.Store.MongoURI, "mongodb", "mongodb+srv") }},
		{"store.mongoDatabase", func(c *Config) string { return mongoDatabase(c.Store.MongoDatabase) }},
		{"management.listen", func(c *Config) string { return hostPort(c.Management.Listen, false) }},
		{"management.bodyLimit", func(c *Config) string { return positive(c.Management.BodyLimit > 0) }},
		{"management.replayWindow", func(c *Config) string { return notNegative(c.Management.ReplayWindow >= 0) }},
		{"management.cacheTTL", func(c *Config) string { return notNegative(c.Management.CacheTTL >= 0) }},
		{"management.rateLimit", func(c *Config) string { return notNegative(c.Management.RateLimit >= 0) }},
		{"portal.listen", func(c *Config) string { return hostPort(c.Portal.Listen, false) }},
		{"portal.publicHost", func(c *Config) string { return optional(c.Portal.PublicHost, hostPort(c.Portal.PublicHost, true)) }},
		{"portal.viaHost", func(c *Config) string { return optionalURL(c.Portal.ViaHost, "http", "https") }},
		{"portal.isps", func(c *Config) string { return noEmptyItems(c.Portal.ISPs) }},
		{"portal.regions", func(c *Config) string { return noEmptyItems(c.Portal.Regions) }},
		{"webrtc.udpPort", func(c *Config) string { return port(c.WebRTC.UDPPort) }},
		{"webrtc.tcpPort", func(c *Config) string { return port(c.WebRTC.TCPPort) }},
		{"webrtc.nat1to1IPs", func(c *Config) string { return ipList(c.WebRTC.NAT1To1IPs) }},
		{"webrtc.interfaces", func(c *Config) string { return noEmptyItems(c.WebRTC.Interfaces) }},
		{"webrtc.isps", func(c *Config) string { return noEmptyItems(c.WebRTC.ISPs) }},
		{"webrtc.regions", func(c *Config) string { return noEmptyItems(c.WebRTC.Regions) }},
		{"webrtc.capacity", func(c *Config) string { return positive(c.WebRTC.Capacity > 0) }},
		{"webrtc.mediaLinkListen", func(c *Config) string {
			return optional(c.WebRTC.MediaLinkListen, hostPort(c.WebRTC.MediaLinkListen, false))
		}},
		{"webrtc.mediaLinkAdvertise", func(c *Config) string {
			return optional(c.WebRTC.MediaLinkAdvertise, hostPort(c.WebRTC.MediaLinkAdvertise, true))
		}},
		{"webrtc.congestionControl.initialBitrate", func(c *Config) string {
			cc := c.WebRTC.CongestionControl
			return bitrate(cc.InitialBitrate, cc.MaxBitrate)
		}},
		{"webrtc.congestionControl.maxBitrate", func(c *Config) string { return bitrate(c.WebRTC.CongestionControl.MaxBitrate, 0) }},
		{"recording.capacity", func(c *Config) string { return positive(c.Recording.Capacity > 0) }},
		{"streaming.allowTargets", func(c *Config) string { return prefixList(c.Streaming.AllowTargets) }},
		{"mixing.capacity", func(c *Config) string { return positive(c.Mixing.Capacity > 0) }},
		{"conference.chatMaxMessages", func(c *Config) string { return positive(c.Conference.ChatMaxMessages > 0) }},
		{"conference.chatMaxBytes", func(c *Config) string { return positive(c.Conference.ChatMaxBytes > 0) }},
		{"conference.cleanGrace", func(c *Config) string { return positive(c.Conference.CleanGrace > 0) }},
		{"webrtc.metricsListen", func(c *Config) string {
			return optional(c.WebRTC.MetricsListen, hostPort(c.WebRTC.MetricsListen, false))
		}},
		{"turn.listen", func(c *Config) string { return optional(c.TURN.Listen, hostPort(c.TURN.Listen, false)) }},
		{"turn.tlsListen", func(c *Config) string { return turnTLS(c.TURN) }},
		{"turn.host", func(c *Config) string { return optional(c.TURN.Host, hostName(c.TURN.Host)) }},
		{"turn.relayIP", func(c *Config) string { return optional(c.TURN.RelayIP, ipList([]string{c.TURN.RelayIP})) }},
		{"turn.relayPortMin", func(c *Config) string { return portRange(c.TURN.RelayPortMin, c.TURN.RelayPortMax) }},
		{"turn.allowPeers", func(c *Config) string { return prefixList(c.TURN.AllowPeers) }},
		{"turn.credentialTTL", func(c *Config) string { return positive(c.TURN.CredentialTTL > 0) }},
		{"turn.urls", func(c *Config) string { return iceURLs(c.TURN.URLs) }},
		{"superService.id", func(c *Config) string { return optional(c.SuperService.ID, objectID(c.SuperService.ID)) }},
		{"superService.key", func(c *Config) string { return superKey(c.SuperService) }},
		{"log.level", func(c *Config) string { return oneOf(c.Log.Level, "debug", "info", "warn", "error") }},
		{"log.format", func(c *Config) string { return oneOf(c.Log.Format, "text", "json") }},
		{"cluster.strategies", func(c *Config) string { return strategies(c.Cluster.Strategies) }},
		{"cluster.heartbeat", func(c *Config) string { return positive(c.Cluster.Heartbeat > 0) }},
		{"shutdownTimeout", func(c *Config) string { return positive(c.ShutdownTimeout > 0) }},
	}
}

// Validate checks every key and returns all problems joined, each an *InvalidError naming
// its key (errors.Is(err, ErrInvalid) holds).
func (c Config) Validate() error {
	var errs []error
	for _, ch := range checks() {
		if msg := ch.fn(&c); msg != "" {
			errs = append(errs, &InvalidError{Key: ch.key, Msg: msg})
		}
	}
	return errors.Join(errs...)
}

// checkKey runs the rule of one key.
func (c *Config) checkKey(key string) *InvalidError {
	for _, ch := range checks() {
		if ch.key == key {
			if msg := ch.fn(c); msg != "" {
				return &InvalidError{Key: key, Msg: msg}
			}
		}
	}
	return nil
}

func nonEmpty(s string) string {
	if s == "" {
		return "must not be empty"
	}
	return ""
}

// bitrate checks a rate in bit/s: at least 30 kbit/s (below that no video fits) and, when
// max > 0, not above max.
func bitrate(bps, max int) string {
	switch {
	case bps < 30_000:
		return "must be at least 30000 (bit/s)"
	case max > 0 && bps > max:
		return "must not exceed webrtc.congestionControl.maxBitrate"
	}
	return ""
}

func positive(ok bool) string {
	if !ok {
		return "must be positive"
	}
	return ""
}

func notNegative(ok bool) string {
	if !ok {
		return "must not be negative"
	}
	return ""
}

// optional applies msg only to a non-empty value.
func optional(value, msg string) string {
	if value == "" {
		return ""
	}
	return msg
}

func oneOf(s string, allowed ...string) string {
	if !slices.Contains(allowed, s) {
		return fmt.Sprintf("%q is not one of %s", s, strings.Join(allowed, ", "))
	}
	return ""
}

func clusterKey(s string) string {
	if s == "" {
		return ""
	}
	if b, err := base64.StdEncoding.DecodeString(s); err != nil || len(b) != ClusterKeySize {
		return fmt.Sprintf("must be the base64 encoding of %d bytes", ClusterKeySize)
	}
	return ""
}

// optionalURL accepts "" or an absolute URL with a host and one of schemes.
func optionalURL(s string, schemes ...string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || !slices.Contains(schemes, u.Scheme) || u.Host == "" {
		return "must be a " + strings.Join(schemes, ":// or ") + ":// URL with a host"
	}
	return ""
}

func busPrefix(s string) string {
	if s == "" || strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "" {
		return fmt.Sprintf("%q must be letters, digits, '.', '_' or '-'", s)
	}
	return ""
}

func mongoDatabase(s string) string {
	if s == "" || len(s) > 63 || strings.ContainsAny(s, "/\\. \"$*<>:|?\x00") {
		return fmt.Sprintf("%q is not a valid MongoDB database name", s)
	}
	return ""
}

// hostPort checks "host:port"; needHost requires a host and a non-zero port (an address
// clients dial rather than one to listen on).
func hostPort(s string, needHost bool) string {
	bad := fmt.Sprintf("%q is not host:port", s)
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return bad
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || (needHost && (host == "" || n == 0)) {
		return bad
	}
	return ""
}

func noEmptyItems(list []string) string {
	if slices.Contains(list, "") {
		return "must not contain empty names"
	}
	return ""
}

func objectID(s string) string {
	if !ids.IsObjectID(s) {
		return "must be 24 hex characters"
	}
	return ""
}

func superKey(s SuperServiceConfig) string {
	if (s.ID == "") != (s.Key == "") {
		return "must be set together with superService.id"
	}
	return ""
}

func strategies(m map[string]string) string {
	for _, purpose := range slices.Sorted(maps.Keys(m)) {
		if purpose == "" {
			return "purpose names must not be empty"
		}
		if !cluster.IsStrategy(m[purpose]) {
			return fmt.Sprintf("%s: unknown strategy %q (known: %s)", purpose, m[purpose], strings.Join(cluster.Strategies(), ", "))
		}
	}
	return ""
}

// port accepts 0 (any) through 65535.
func port(p int) string {
	if p < 0 || p > 65535 {
		return fmt.Sprintf("%d is not a port number (0-65535)", p)
	}
	return ""
}

// ipList accepts a list of IP addresses.
// prefixList checks a list of addresses or CIDR prefixes.
func prefixList(items []string) string {
	for _, s := range items {
		if _, err := netip.ParsePrefix(s); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(s); err != nil {
			return fmt.Sprintf("%q is not an IP address or CIDR prefix", s)
		}
	}
	return ""
}

func ipList(ips []string) string {
	for _, s := range ips {
		if net.ParseIP(s) == nil {
			return fmt.Sprintf("%q is not an IP address", s)
		}
	}
	return ""
}

// turnTLS checks that TURN over TLS is configured completely or not at all.
func turnTLS(t TURNConfig) string {
	set := 0
	for _, v := range []string{t.TLSListen, t.CertFile, t.KeyFile} {
		if v != "" {
			set++
		}
	}
	switch {
	case set != 0 && set != 3:
		return "tlsListen, certFile and keyFile go together"
	case t.TLSListen != "":
		return hostPort(t.TLSListen, false)
	}
	return ""
}

// hostName accepts a DNS name or an IP address (no port).
func hostName(s string) string {
	if net.ParseIP(s) != nil {
		return ""
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || strings.Trim(label, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
			return fmt.Sprintf("%q is not a host name or IP address", s)
		}
	}
	return ""
}

// portRange accepts both 0, or 1 <= min <= max <= 65535.
func portRange(lo, hi int) string {
	if lo == 0 && hi == 0 {
		return ""
	}
	if lo < 1 || hi > 65535 || lo > hi {
		return fmt.Sprintf("relay ports %d-%d: want 1 <= relayPortMin <= relayPortMax <= 65535, or both 0", lo, hi)
	}
	return ""
}

// iceURLs accepts stun:, turn: and turns: URLs (RFC 7064/7065: host[:port][?transport=udp|tcp]).
func iceURLs(urls []string) string {
	for _, u := range urls {
		scheme, rest, ok := strings.Cut(u, ":")
		if !ok || (scheme != "stun" && scheme != "stuns" && scheme != "turn" && scheme != "turns") {
			return fmt.Sprintf("%q: want a stun:, stuns:, turn: or turns: URL", u)
		}
		hostport, query, _ := strings.Cut(rest, "?")
		if query != "" && query != "transport=udp" && query != "transport=tcp" {
			return fmt.Sprintf("%q: the only query is transport=udp or transport=tcp", u)
		}
		host := hostport
		if h, _, err := net.SplitHostPort(hostport); err == nil {
			host = h
		}
		if host == "" || hostName(strings.Trim(host, "[]")) != "" {
			return fmt.Sprintf("%q has no valid host", u)
		}
	}
	return ""
}
