package medialink

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"strconv"

	"github.com/conclave-rtc/conclave/common/bus"
	"github.com/conclave-rtc/conclave/common/errs"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/secret"
)

// KeyPurpose derives the media-link ticket key from the cluster key; every agent uses it, so
// tickets are keyed alike everywhere.
const KeyPurpose = "conclave/medialink/v1"

// SecretSize is the size of the ticket keys DeriveSecret returns and of random ones.
const SecretSize = 32

// DeriveSecret returns the ticket key derived from the cluster key, or nil when key is zero
// (no cluster key: NewAgentServer then uses a random key).
func DeriveSecret(key secret.Key) []byte {
	if key.IsZero() {
		return nil
	}
	d := key.Derive(KeyPurpose)
	return d[:]
}

// secretOrRandom returns s, or a random SecretSize-byte key when s is empty. A per-process
// key works because an agent only redeems the tickets it issued itself.
func secretOrRandom(s []byte) ([]byte, error) {
	if len(s) > 0 {
		return s, nil
	}
	k := make([]byte, SecretSize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("medialink: random key: %w", err)
	}
	return k, nil
}

func NewAgentServer(cfg Config, exp Exporter) (*Server, error) {
	key, err := secretOrRandom(cfg.Secret)
	if err != nil {
		return nil, err
	}
	cfg.Secret = key
	return NewServer(cfg, exp)
}

// advertised is the address importers dial for a listener on addr: host:port when the
// listener is on all addresses and host is set, else addr itself.
func advertised(addr, host string) string {
	h, port, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(h); err == nil && ip != nil && ip.IsUnspecified() && host != "" {
		return net.JoinHostPort(host, port)
	}
	return addr
}

// withPort is advertise with port 0 replaced by ln's port.
func withPort(advertise string, ln net.Addr) string {
	host, port, err := net.SplitHostPort(advertise)
	tcp, ok := ln.(*net.TCPAddr)
	if err != nil || port != "0" || !ok {
		return advertise
	}
	return net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}

// Offer answers rtc.export for a local track the caller has checked exists: a one-use ticket
// for trackID and the address to redeem it at. A failure is a typed 500.
func (s *Server) Offer(trackID string) (protocol.RTCExportResult, error) {
	ticket, err := s.Issue(trackID)
	if err != nil {
		return protocol.RTCExportResult{}, errs.Unexpected("issue ticket: " + err.Error())
	}
	return protocol.RTCExportResult{Address: s.Addr(), Ticket: ticket}, nil
}

// Import opens a media link to a track held by another agent: rtc.export on ref.Agent over
// b, then a dial with the ticket. The link is not running yet (call Run). Errors of the
// export call are returned as they are (they keep the holder's *errs.Error); a failed dial is
// a cluster error naming the track.
func Import(ctx context.Context, b bus.Bus, ref protocol.TrackRef) (*Link, TrackInfo, error) {
	var res protocol.RTCExportResult
	if err := b.Call(ctx, ref.Agent, protocol.MethodRTCExport, protocol.RTCExport{TrackID: ref.TrackID}, &res); err != nil {
		return nil, TrackInfo{}, err
	}
	link, info, err := Dial(ctx, res.Address, res.Ticket, 0)
	if err != nil {
		return nil, TrackInfo{}, errs.Cluster("import of track " + ref.TrackID + " failed: " + err.Error())
	}
	return link, info, nil
}
