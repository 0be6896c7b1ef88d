// Package iceconfig builds the ICE servers Conclave hands to clients (docs/networks.md): the
// STUN and TURN URLs of the embedded TURN server or of an external one, with time-limited
// TURN REST API credentials (common/turncred) for one user. The management API serves them
// to application servers (GET /v1/iceservers), the portal adds them to the login answer.
package iceconfig

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/conclave-rtc/conclave/common/config"
	"github.com/conclave-rtc/conclave/common/secret"
	"github.com/conclave-rtc/conclave/common/turncred"
)

// DefaultTURNPort is the embedded server's port when turn.listen names none (RFC 5766).
const DefaultTURNPort = 3478

// Server is one entry of RTCConfiguration.iceServers, as browsers and pion take it.
type Server struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// Issuer hands out ICE servers with fresh credentials. The zero value hands out none.
type Issuer struct {
	stun, turn []string
	secret     string
	ttl        time.Duration
}

// NewIssuer returns an issuer of urls (stun:, stuns:, turn:, turns:) whose TURN entries get
// credentials from secret, valid for ttl.
func NewIssuer(urls []string, secret string, ttl time.Duration) *Issuer {
	i := &Issuer{secret: secret, ttl: ttl}
	for _, u := range urls {
		if strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:") {
			i.turn = append(i.turn, u)
		} else {
			i.stun = append(i.stun, u)
		}
	}
	return i
}

// Servers returns the ICE servers for user at now, and when their credentials expire (zero
// without TURN). The slice is empty, never nil, when nothing is configured.
func (i *Issuer) Servers(user string, now time.Time) ([]Server, time.Time) {
	out := []Server{}
	if i == nil {
		return out, time.Time{}
	}
	if len(i.stun) > 0 {
		out = append(out, Server{URLs: append([]string(nil), i.stun...)})
	}
	if len(i.turn) == 0 {
		return out, time.Time{}
	}
	c := turncred.New(i.secret, user, i.ttl, now)
	out = append(out, Server{URLs: append([]string(nil), i.turn...), Username: c.Username, Credential: c.Password})
	return out, c.Expires
}

// URLs are the ICE server URLs of a configuration: turn.urls when set; else, with the
// embedded server enabled, its STUN and TURN URLs at turn.host (or the host of the portal's
// public address, portalPublic) and the port of turn.listen (3478 when it names none).
// A listen port of 0 cannot be known here: the caller that started the server passes
// udpPort and tlsPort (0 when unknown or without TLS).
func URLs(c config.TURNConfig, portalPublic string, udpPort, tlsPort int) []string {
	if len(c.URLs) > 0 {
		return append([]string(nil), c.URLs...)
	}
	if !c.Enabled {
		return nil
	}
	host := c.Host
	if host == "" {
		host = portalPublic
		if h, _, err := net.SplitHostPort(portalPublic); err == nil {
			host = h
		}
	}
	if udpPort == 0 {
		udpPort = DefaultTURNPort
		if _, p, err := net.SplitHostPort(c.Listen); err == nil {
			udpPort, _ = strconv.Atoi(p)
		}
	}
	if host == "" || udpPort == 0 {
		return nil
	}
	hp := net.JoinHostPort(host, strconv.Itoa(udpPort))
	urls := []string{"stun:" + hp, "turn:" + hp + "?transport=udp", "turn:" + hp + "?transport=tcp"}
	if c.TLSListen != "" {
		if tlsPort == 0 {
			if _, p, err := net.SplitHostPort(c.TLSListen); err == nil {
				tlsPort, _ = strconv.Atoi(p)
			}
		}
		if tlsPort != 0 {
			urls = append(urls, "turns:"+net.JoinHostPort(host, strconv.Itoa(tlsPort))+"?transport=tcp")
		}
	}
	return urls
}

// Secret is the TURN REST API secret of a configuration: turn.secret, else the one derived
// from the cluster key (the embedded server's default).
func Secret(c config.TURNConfig, key secret.Key) string {
	if c.Secret != "" {
		return c.Secret
	}
	return turncred.SecretFromKey(key)
}

// Configured is the issuer of a process that does not run the TURN server itself (the
// separate portal and management-api binaries): turn.urls only.
func Configured(c config.TURNConfig, key secret.Key) *Issuer {
	return NewIssuer(c.URLs, Secret(c, key), c.CredentialTTL)
}
