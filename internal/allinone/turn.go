package allinone

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/conclave-rtc/conclave/common/config"
	"github.com/conclave-rtc/conclave/common/iceconfig"
	"github.com/conclave-rtc/conclave/common/secret"
	webrtc "github.com/conclave-rtc/conclave/webrtc-agent/agent"
	"github.com/conclave-rtc/conclave/webrtc-agent/turn"
)

// relay is the embedded TURN server of the all-in-one (docs/networks.md) and the ICE servers
// handed to clients. srv is nil when turn.enabled is off or the server could not be set up
// (note says why, for the banner).
type relay struct {
	srv    *turn.Server
	issuer *iceconfig.Issuer
	urls   []string
	note   string
	log    *slog.Logger
	rtc    *webrtc.Agent // set once the agents exist; its media addresses become reachable
}

// startRelay binds the embedded TURN server when enabled: on turn.listen, by default port
// 3478 of the portal's listen host, announcing turn.host, by default the host of the portal's
// public address (the one clients already reach). A relay address that cannot be derived
// (a public host name that does not resolve) leaves TURN off with a warning instead of
// stopping the platform.
func startRelay(cfg config.Config, key secret.Key, log *slog.Logger) (*relay, error) {
	r := &relay{log: log}
	tc := cfg.TURN
	if !tc.Enabled {
		r.urls = tc.URLs
		r.issuer = iceconfig.NewIssuer(tc.URLs, iceconfig.Secret(tc, key), tc.CredentialTTL)
		r.note = "embedded server off (turn.enabled)"
		return r, nil
	}
	if tc.Listen == "" {
		host, _, _ := net.SplitHostPort(cfg.Portal.Listen)
		tc.Listen = net.JoinHostPort(host, strconv.Itoa(iceconfig.DefaultTURNPort))
	}
	if tc.Host == "" {
		tc.Host = hostOf(cfg.Portal.PublicAddr())
	}
	if tc.RelayIP == "" && net.ParseIP(tc.Host) == nil {
		if ips, err := net.LookupIP(tc.Host); err == nil && len(ips) > 0 {
			tc.RelayIP = ips[0].String()
		}
	}
	sc, err := turn.FromConfig(tc, key, log)
	if err == nil {
		r.srv, err = turn.New(sc)
	}
	if err != nil {
		log.Warn("embedded TURN server not started: clients behind UDP-blocking firewalls cannot connect", "err", err)
		r.note = "not started: " + err.Error()
		r.urls = tc.URLs
		r.issuer = iceconfig.NewIssuer(tc.URLs, iceconfig.Secret(tc, key), tc.CredentialTTL)
		return r, nil
	}
	tlsPort := 0
	if a, ok := r.srv.TLSAddr().(*net.TCPAddr); ok {
		tlsPort = a.Port
	}
	r.urls = iceconfig.URLs(tc, cfg.Portal.PublicAddr(), r.srv.UDPAddr().Port, tlsPort)
	r.issuer = iceconfig.NewIssuer(r.urls, sc.Secret, tc.CredentialTTL)
	r.note = fmt.Sprintf("relaying from %s, listening on %s", sc.RelayIP, r.srv.UDPAddr())
	return r, nil
}

// Run serves the relay once the webrtc agent runs, whose media addresses (private or the
// server's own) it may then reach, each on its media port only.
func (r *relay) Run(ctx context.Context) error {
	if r.srv == nil {
		<-ctx.Done()
		return nil
	}
	if r.rtc != nil {
		select {
		case <-r.rtc.Ready():
			r.srv.AllowMedia(r.rtc.MediaAddrs())
		case <-ctx.Done():
			return r.srv.Close()
		}
	}
	return r.srv.Run(ctx)
}

// close releases the sockets of a relay that never ran.
func (r *relay) close() {
	if r.srv != nil {
		_ = r.srv.Close()
	}
}

func hostOf(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}
