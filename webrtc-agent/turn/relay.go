package turn

import (
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/pion/turn/v5"
)

// relayGenerator allocates the relay sockets with one of pion's generators (fixed address,
// optional port range) and wraps each in a relayConn. The PermissionHandler sees only the peer
// IP; the port half of the policy (AllowPorts, AllowMedia) is enforced on the sockets themselves.
type relayGenerator struct {
	base   turn.RelayAddressGenerator
	policy *atomic.Pointer[peerPolicy] // the server's, replaced by AllowMedia
	drop   func(peer netip.AddrPort, outbound bool)
}

var _ turn.RelayAddressGenerator = (*relayGenerator)(nil)

func newRelayGenerator(cfg Config, policy *atomic.Pointer[peerPolicy], drop func(netip.AddrPort, bool)) *relayGenerator {
	var base turn.RelayAddressGenerator = &turn.RelayAddressGeneratorStatic{
		RelayAddress: cfg.RelayIP, Address: cfg.RelayBind,
	}
	if cfg.RelayPortMin != 0 {
		base = &turn.RelayAddressGeneratorPortRange{
			RelayAddress: cfg.RelayIP, Address: cfg.RelayBind,
			MinPort: uint16(cfg.RelayPortMin), MaxPort: uint16(cfg.RelayPortMax),
		}
	}
	return &relayGenerator{base: base, policy: policy, drop: drop}
}

// Validate implements turn.RelayAddressGenerator.
func (g *relayGenerator) Validate() error { return g.base.Validate() }

// AllocatePacketConn implements turn.RelayAddressGenerator.
func (g *relayGenerator) AllocatePacketConn(c turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	conn, addr, err := g.base.AllocatePacketConn(c)
	if err != nil {
		return nil, nil, err
	}
	return &relayConn{PacketConn: conn, g: g}, addr, nil
}

// AllocateListener implements turn.RelayAddressGenerator: TCP relays (RFC 6062) are refused,
// so the client gets 508 Insufficient Capacity.
func (g *relayGenerator) AllocateListener(turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	return nil, nil, ErrTCPRelay
}

// AllocateConn implements turn.RelayAddressGenerator; see AllocateListener.
func (g *relayGenerator) AllocateConn(turn.AllocateConnConfig) (net.Conn, error) {
	return nil, ErrTCPRelay
}

// relayConn is one relay socket with the peer policy applied to every datagram: what it may
// not send is dropped as the network would drop it, and what arrives from a peer it may not
// send to is discarded, so the port restriction holds in both directions.
type relayConn struct {
	net.PacketConn
	g *relayGenerator
}

// WriteTo implements net.PacketConn.
func (c *relayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if ap := addrPort(addr); !c.g.policy.Load().admit(ap) {
		c.g.drop(ap, true)
		return len(p), nil
	}
	return c.PacketConn.WriteTo(p, addr)
}

// ReadFrom implements net.PacketConn.
func (c *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil {
			return n, addr, err
		}
		ap := addrPort(addr)
		if c.g.policy.Load().admit(ap) {
			return n, addr, nil
		}
		c.g.drop(ap, false)
	}
}
