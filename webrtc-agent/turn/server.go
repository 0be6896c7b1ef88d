// Package turn is Conclave's embedded TURN server (RFC 8656, on pion/turn) for clients whose
// networks block UDP or sit behind symmetric NATs: it listens on UDP and TCP (and optionally
// TLS) on one port, authenticates with the time-limited credentials of common/turncred
// (compatible with coturn's use-auth-secret), limits allocations per user, and relays only to
// public unicast peers plus the deployment's own media addresses (AllowPeers), the latter only
// on their media ports (AllowPorts), so it cannot be used to reach internal services. Relays to
// peers are UDP only; TCP relay allocations (RFC 6062) are refused.
//
// The all-in-one binary runs a Server next to its webrtc agent; cmd/turn-server runs one alone.
package turn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conclave-rtc/conclave/webrtc-agent/internal/pionlog"
	"github.com/pion/turn/v5"
)

const (
	// DefaultRealm is the realm when Config.Realm is empty.
	DefaultRealm = "conclave"
	// DefaultUserQuota is the per-user allocation limit when Config.UserQuota is 0: a browser
	// makes one allocation per TURN URL and local interface for each PeerConnection.
	DefaultUserQuota = 50
	// closeTimeout bounds Run's wait for pion's loops and allocations after closing.
	closeTimeout = 5 * time.Second
)

// Config configures a Server.
type Config struct {
	// Listen is the UDP and TCP address, "host:port". Port 0 takes an ephemeral port, the same
	// for UDP and TCP.
	Listen string
	// TLSListen, CertFile and KeyFile add a TURN over TLS listener (turns:) when set together.
	TLSListen, CertFile, KeyFile string
	// RelayIP is the address of the relayed candidates, the one peers reach clients at
	// (required).
	RelayIP net.IP
	// RelayBind is the address relay sockets bind to (default: RelayIP). Behind a 1:1 NAT it
	// is the local address and RelayIP the public one.
	RelayBind string
	// RelayPortMin and RelayPortMax bound the relay ports; both 0: ephemeral ports.
	RelayPortMin, RelayPortMax int
	// Realm is the long-term credential realm (default DefaultRealm).
	Realm string
	// Secret is the TURN REST API shared secret (common/turncred).
	Secret string
	// UserQuota is the number of allocations one user (the part of the username after the
	// colon) may hold at once: 0 means DefaultUserQuota, negative means no limit.
	UserQuota int
	// AllowPeers are peers besides public unicast addresses the relay may send to, typically
	// the deployment's media servers. The server's own addresses count as non-public.
	AllowPeers []netip.Prefix
	// AllowPorts, when not empty, are the only ports peers admitted only through AllowPeers
	// may be reached on.
	AllowPorts []uint16
	// Logger receives the server's logs (default: discarded).
	Logger *slog.Logger
}

// withDefaults fills the defaults documented on Config.
func (c Config) withDefaults() Config {
	if c.Realm == "" {
		c.Realm = DefaultRealm
	}
	if c.UserQuota == 0 {
		c.UserQuota = DefaultUserQuota
	}
	if c.RelayBind == "" && c.RelayIP != nil {
		c.RelayBind = c.RelayIP.String()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// validate checks a Config with defaults applied.
func (c Config) validate() error {
	tlsSet := 0
	for _, v := range []string{c.TLSListen, c.CertFile, c.KeyFile} {
		if v != "" {
			tlsSet++
		}
	}
	var problem string
	switch {
	case c.Listen == "":
		problem = "Listen is required"
	case c.RelayIP == nil || c.RelayIP.IsUnspecified():
		problem = "RelayIP is required: the address peers reach the relay at"
	case c.Secret == "":
		problem = "Secret is required"
	case !(c.RelayPortMin == 0 && c.RelayPortMax == 0) &&
		(c.RelayPortMin < 1 || c.RelayPortMax > 65535 || c.RelayPortMin > c.RelayPortMax):
		problem = fmt.Sprintf("relay ports %d-%d: want 1 <= RelayPortMin <= RelayPortMax <= 65535, or both 0",
			c.RelayPortMin, c.RelayPortMax)
	case tlsSet != 0 && tlsSet != 3:
		problem = "TLSListen, CertFile and KeyFile go together"
	}
	for _, p := range c.AllowPeers {
		if problem == "" && !p.IsValid() {
			problem = "AllowPeers holds an invalid prefix"
		}
	}
	if problem != "" {
		return fmt.Errorf("%w: %s", ErrConfig, problem)
	}
	return nil
}

// Server is an embedded TURN server. New binds its sockets, Run serves until its context
// ends, Close releases everything.
type Server struct {
	cfg    Config
	log    *slog.Logger
	loops  *loops
	udp    *trackedPacketConn
	tcp    *trackedListener
	tls    *trackedListener // nil without TLS
	policy atomic.Pointer[peerPolicy]
	relay  *relayGenerator
	quota  *quota
	stats  counters

	running   atomic.Bool
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// New validates cfg and binds the listening sockets; errors name the address. It starts no
// goroutine.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, loops: newLoops(), quota: newQuota(cfg.UserQuota), done: make(chan struct{})}
	if err := s.listen(); err != nil {
		s.closeSockets()
		return nil, err
	}
	s.policy.Store(newPeerPolicy(cfg.AllowPeers, cfg.AllowPorts, s.ownAddrs()))
	s.relay = newRelayGenerator(cfg, &s.policy, s.dropped)
	if err := s.checkRelay(); err != nil {
		s.closeSockets()
		return nil, err
	}
	return s, nil
}

// AllowMedia lets the relay reach the deployment's own media addresses (a webrtc agent's
// UDP port on each of its addresses, its ICE-TCP port), each on its port only, even when the
// address is private or the server's own. Safe to call while the server runs: it applies to
// later permissions and to every datagram from then on.
func (s *Server) AllowMedia(addrs []netip.AddrPort) {
	for {
		old := s.policy.Load()
		if s.policy.CompareAndSwap(old, old.with(addrs)) {
			s.log.Info("turn relay may reach media addresses", "addrs", fmt.Sprint(addrs))
			return
		}
	}
}

// listen binds the UDP/TCP pair and the TLS listener.
func (s *Server) listen() error {
	pc, ln, err := listenPair(s.cfg.Listen)
	if err != nil {
		return err
	}
	s.udp = &trackedPacketConn{PacketConn: pc, end: s.loops.start()}
	s.tcp = &trackedListener{Listener: ln, loops: s.loops, log: s.log, end: s.loops.start()}
	if s.cfg.TLSListen == "" {
		return nil
	}
	tln, err := listenTLS(s.cfg.TLSListen, s.cfg.CertFile, s.cfg.KeyFile)
	if err != nil {
		return err
	}
	s.tls = &trackedListener{Listener: tln, loops: s.loops, log: s.log, end: s.loops.start()}
	return nil
}

// checkRelay fails early when relay sockets could not be bound, rather than at every
// Allocate (508).
func (s *Server) checkRelay() error {
	if err := s.relay.Validate(); err != nil {
		return fmt.Errorf("turn: relay: %w", err)
	}
	pc, err := net.ListenPacket("udp", net.JoinHostPort(s.cfg.RelayBind, "0"))
	if err != nil {
		return fmt.Errorf("turn: relay sockets cannot bind %s (behind a 1:1 NAT, RelayBind is the local address): %w",
			s.cfg.RelayBind, err)
	}
	return pc.Close()
}

// ownAddrs are the addresses the peer policy treats as the server's own.
func (s *Server) ownAddrs() []netip.Addr {
	own := localAddrs()
	for _, a := range []net.Addr{s.udp.LocalAddr(), s.TLSAddr()} {
		if a != nil {
			own = append(own, addrPort(a).Addr())
		}
	}
	if ip, ok := netip.AddrFromSlice(s.cfg.RelayIP); ok {
		own = append(own, ip)
	}
	if ip, err := netip.ParseAddr(s.cfg.RelayBind); err == nil {
		own = append(own, ip)
	}
	return own
}

// UDPAddr returns the UDP listening address.
func (s *Server) UDPAddr() *net.UDPAddr { return s.udp.LocalAddr().(*net.UDPAddr) }

// TCPAddr returns the TCP listening address (same port as UDPAddr).
func (s *Server) TCPAddr() *net.TCPAddr { return s.tcp.Addr().(*net.TCPAddr) }

// TLSAddr returns the TLS listening address, or nil without TLS.
func (s *Server) TLSAddr() net.Addr {
	if s.tls == nil {
		return nil
	}
	return s.tls.Addr()
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	n, _ := s.quota.allocations()
	return Stats{
		Allocations:   n,
		AuthFailures:  s.stats.authFailures.Load(),
		QuotaRefusals: s.stats.quotaRefusals.Load(),
		PeerRefusals:  s.stats.peerRefusals.Load(),
	}
}

// Run serves until ctx ends or Close is called, then closes everything and returns once pion's
// loops over the sockets have ended and the allocations are gone (bounded by a few seconds).
func (s *Server) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	select {
	case <-s.done:
		return fmt.Errorf("turn: %w", net.ErrClosed)
	default:
	}
	if _, err := turn.NewServer(s.serverConfig()); err != nil {
		s.Close()
		return fmt.Errorf("turn: %w", err)
	}
	s.logStart()
	select {
	case <-ctx.Done():
	case <-s.done:
	}
	s.Close()
	s.wait()
	return nil
}

func (s *Server) serverConfig() turn.ServerConfig {
	listeners := []turn.ListenerConfig{{Listener: s.tcp, RelayAddressGenerator: s.relay, PermissionHandler: s.permit}}
	if s.tls != nil {
		listeners = append(listeners, turn.ListenerConfig{Listener: s.tls, RelayAddressGenerator: s.relay, PermissionHandler: s.permit})
	}
	return turn.ServerConfig{
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: s.udp, RelayAddressGenerator: s.relay, PermissionHandler: s.permit}},
		ListenerConfigs:   listeners,
		LoggerFactory:     pionlog.Factory{Log: s.log, InfoLevel: slog.LevelDebug},
		Realm:             s.cfg.Realm,
		AuthHandler:       s.authenticate,
		QuotaHandler:      s.allowAllocation,
		EventHandler: turn.EventHandler{
			OnAuth:              s.onAuth,
			OnAllocationCreated: s.onAllocationCreated,
			OnAllocationDeleted: s.onAllocationDeleted,
		},
	}
}

func (s *Server) logStart() {
	ports := "ephemeral"
	if s.cfg.RelayPortMin != 0 {
		ports = fmt.Sprintf("%d-%d", s.cfg.RelayPortMin, s.cfg.RelayPortMax)
	}
	tlsAddr := ""
	if a := s.TLSAddr(); a != nil {
		tlsAddr = a.String()
	}
	s.log.Info("turn server running", "udp", s.UDPAddr().String(), "tcp", s.TCPAddr().String(), "tls", tlsAddr,
		"relayIP", s.cfg.RelayIP.String(), "relayBind", s.cfg.RelayBind, "relayPorts", ports,
		"realm", s.cfg.Realm, "userQuota", s.cfg.UserQuota, "allowPeers", len(s.cfg.AllowPeers))
}

// wait waits for pion's loops to end and the allocations to be deleted after Close.
func (s *Server) wait() {
	loopsDone := make(chan struct{})
	go func() {
		s.loops.wg.Wait()
		close(loopsDone)
	}()
	deadline := time.NewTimer(closeTimeout)
	defer deadline.Stop()
	select {
	case <-loopsDone:
	case <-deadline.C:
		s.log.Warn("turn server closed, read loops still running")
		return
	}
	n, idle := s.quota.allocations()
	select {
	case <-idle:
	case <-deadline.C:
		s.log.Warn("turn server closed, allocations not released", "allocations", n)
	}
}

// Close closes the listening sockets and accepted connections; pion then closes every
// allocation. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.closeErr = s.closeSockets()
	})
	return s.closeErr
}

// closeSockets closes the sockets underneath the tracking wrappers (see loops).
func (s *Server) closeSockets() error {
	var errs []error
	if s.udp != nil {
		errs = append(errs, s.udp.PacketConn.Close())
	}
	for _, l := range []*trackedListener{s.tcp, s.tls} {
		if l != nil {
			errs = append(errs, l.Listener.Close())
		}
	}
	s.loops.closeConns()
	return errors.Join(errs...)
}

// permit is pion's PermissionHandler (CreatePermission, ChannelBind, Connect).
func (s *Server) permit(client net.Addr, peer net.IP) bool {
	if ip, ok := netip.AddrFromSlice(peer); ok {
		if s.policy.Load().admitIP(ip) {
			return true
		}
	}
	s.stats.peerRefusals.Add(1)
	s.log.Debug("turn permission refused", "client", addrString(client), "peer", peer.String())
	return false
}

// dropped counts a datagram a relay socket dropped for its peer's port.
func (s *Server) dropped(peer netip.AddrPort, outbound bool) {
	s.stats.peerRefusals.Add(1)
	s.log.Debug("turn datagram dropped", "peer", peer.String(), "outbound", outbound)
}

func (s *Server) onAllocationCreated(src, _ net.Addr, _, userID, _ string, relay net.Addr, _ int) {
	s.quota.created(userID)
	s.log.Debug("turn allocation created", "user", userID, "client", addrString(src), "relay", addrString(relay))
}

func (s *Server) onAllocationDeleted(src, _ net.Addr, _, userID, _ string) {
	s.quota.deleted(userID)
	s.log.Debug("turn allocation deleted", "user", userID, "client", addrString(src))
}
