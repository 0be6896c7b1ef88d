package medialink

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// helloTimeout bounds the handshake of an accepted connection.
const helloTimeout = 5 * time.Second

// MaxPendingHandshakes bounds the accepted connections that have not yet presented a valid
// ticket: beyond it new connections are closed at once, so a flood of idle connections
// cannot pile up goroutines until their hello timeout.
const MaxPendingHandshakes = 256

// TrackInfo describes an exported track's codec (sent in the Meta frame).
type TrackInfo struct {
	TrackID   string `json:"trackId"`
	Kind      string `json:"kind"` // "audio" | "video"
	MimeType  string `json:"mimeType"`
	ClockRate uint32 `json:"clockRate"`
	Channels  uint16 `json:"channels,omitempty"`
	Fmtp      string `json:"fmtp,omitempty"`
}

// Export is what an Exporter returns for an accepted link.
type Export struct {
	Info TrackInfo
	// Keyframe is called when the importer asks for a keyframe (may be nil).
	Keyframe func()
	// Detach is called once when the link has ended (may be nil).
	Detach func()
}

// Exporter attaches links to local tracks. Export must start feeding l (l.SendRTP) and
// return quickly; it fails when the track does not exist.
type Exporter interface {
	Export(trackID string, l *Link) (Export, error)
}

// Config configures a Server.
type Config struct {
	// Listen is the TCP listen address, e.g. "0.0.0.0:0" (default "127.0.0.1:0").
	Listen string
	// Advertise is the address importers dial; empty means the listener's address, or
	// Host:port when the listener is on all addresses (0.0.0.0, ::) and Host is set. Port 0
	// stands for the listener's port (an address known before the port is).
	Advertise string
	// Host is the agent's host name or address, advertised with the listener's port when
	// Advertise is empty and Listen names no single address.
	Host string
	// Secret keys the tickets (at least 16 bytes; derive it from the cluster key).
	Secret []byte
	// TicketTTL is the ticket lifetime (default DefaultTicketTTL).
	TicketTTL time.Duration
	// QueueSize is the per-link send queue in packets (default DefaultQueueSize).
	QueueSize int
	// Logger receives link events (default: discard).
	Logger *slog.Logger
}

// Server accepts links for local tracks.
type Server struct {
	cfg     Config
	exp     Exporter
	tickets *Ticketer
	log     *slog.Logger

	mu    sync.Mutex
	ln    net.Listener
	addr  string
	links map[*Link]struct{}
	wg    sync.WaitGroup
	// pending holds a token per connection still in its handshake.
	pending chan struct{}
}

// NewServer validates cfg; it opens nothing.
func NewServer(cfg Config, exp Exporter) (*Server, error) {
	if exp == nil {
		return nil, fmt.Errorf("%w: exporter is required", ErrConfig)
	}
	tk, err := NewTicketer(cfg.Secret, cfg.TicketTTL, nil)
	if err != nil {
		return nil, err
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, exp: exp, tickets: tk, log: cfg.Logger, links: map[*Link]struct{}{},
		pending: make(chan struct{}, MaxPendingHandshakes)}, nil
}

// Listen opens the listener and returns the advertised address.
func (s *Server) Listen() (string, error) {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return "", fmt.Errorf("medialink: listen %s: %w", s.cfg.Listen, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ln = ln
	s.addr = withPort(s.cfg.Advertise, ln.Addr())
	if s.addr == "" {
		s.addr = advertised(ln.Addr().String(), s.cfg.Host)
	}
	return s.addr, nil
}

// Addr returns the advertised address ("" before Listen).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Issue returns a one-use ticket for trackID.
func (s *Server) Issue(trackID string) (string, error) { return s.tickets.Issue(trackID) }

// Serve accepts links until ctx ends, then closes every link and returns after their
// goroutines ended. Listen must have succeeded.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	if ln == nil {
		return fmt.Errorf("%w: Serve before Listen", ErrClosed)
	}
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	for {
		conn, err := ln.Accept()
		if err != nil {
			s.closeAll()
			s.wg.Wait()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("medialink: accept: %w", err)
		}
		select {
		case s.pending <- struct{}{}:
		default:
			_ = conn.Close() // too many connections without a ticket yet
			continue
		}
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.handle(ctx, conn) }()
	}
}

// handle runs one accepted connection: handshake, then the link.
func (s *Server) handle(ctx context.Context, conn net.Conn) {
	l, exp, err := s.handshake(conn)
	<-s.pending
	if err != nil {
		s.log.Warn("media link refused", "remote", conn.RemoteAddr().String(), "error", err)
		frame, _ := AppendFrame(nil, FrameClose, []byte(err.Error()))
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = conn.Write(frame)
		_ = conn.Close()
		return
	}
	if !s.track(l) {
		l.Close("shutdown")
	}
	defer s.untrack(l)
	if exp.Detach != nil {
		defer exp.Detach()
	}
	err = l.Run(ctx, func(typ FrameType, _ []byte) {
		if typ == FrameKeyframe && exp.Keyframe != nil {
			exp.Keyframe()
		}
	})
	s.log.Debug("media link ended", "track", exp.Info.TrackID, "dropped", l.Dropped(), "error", err)
}

// handshake reads the Hello frame, redeems its ticket, attaches the track and answers Meta.
func (s *Server) handshake(conn net.Conn) (*Link, Export, error) {
	_ = conn.SetReadDeadline(time.Now().Add(helloTimeout))
	fr := NewFrameReader(conn)
	typ, payload, err := fr.Next()
	if err != nil {
		return nil, Export{}, fmt.Errorf("medialink: hello: %w", err)
	}
	if typ != FrameHello {
		return nil, Export{}, fmt.Errorf("%w: expected hello, got %s", ErrBadFrame, typ)
	}
	trackID, err := s.tickets.Redeem(string(payload))
	if err != nil {
		return nil, Export{}, err
	}
	l := newLink(conn, fr, s.cfg.QueueSize, false)
	exp, err := s.exp.Export(trackID, l)
	if err != nil {
		return nil, Export{}, err
	}
	meta, _ := json.Marshal(exp.Info)
	frame, err := AppendFrame(nil, FrameMeta, meta)
	if err == nil {
		_ = conn.SetWriteDeadline(time.Now().Add(helloTimeout))
		_, err = conn.Write(frame)
	}
	_ = conn.SetReadDeadline(time.Time{})
	if err != nil {
		if exp.Detach != nil {
			exp.Detach()
		}
		return nil, Export{}, fmt.Errorf("medialink: meta: %w", err)
	}
	return l, exp, nil
}

func (s *Server) track(l *Link) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.links == nil {
		return false
	}
	s.links[l] = struct{}{}
	return true
}

func (s *Server) untrack(l *Link) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.links, l)
}

// closeAll closes every live link and refuses new ones.
func (s *Server) closeAll() {
	s.mu.Lock()
	links := s.links
	s.links = nil
	s.mu.Unlock()
	for l := range links {
		l.Close("shutdown")
	}
}

// Dial connects to an exporter and redeems ticket. The returned link is not running yet:
// call Run to receive frames.
func Dial(ctx context.Context, address, ticket string, queueSize int) (*Link, TrackInfo, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return nil, TrackInfo{}, fmt.Errorf("medialink: dial %s: %w", address, err)
	}
	info, fr, err := dialHandshake(ctx, conn, ticket)
	if err != nil {
		_ = conn.Close()
		return nil, TrackInfo{}, err
	}
	return newLink(conn, fr, queueSize, true), info, nil
}

// dialHandshake sends Hello and waits for Meta (or a Close with the refusal reason).
func dialHandshake(ctx context.Context, conn net.Conn, ticket string) (TrackInfo, *FrameReader, error) {
	deadline := time.Now().Add(helloTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	frame, err := AppendFrame(nil, FrameHello, []byte(ticket))
	if err != nil {
		return TrackInfo{}, nil, err
	}
	if _, err := conn.Write(frame); err != nil {
		return TrackInfo{}, nil, fmt.Errorf("medialink: hello: %w", err)
	}
	fr := NewFrameReader(conn)
	typ, payload, err := fr.Next()
	if err != nil {
		return TrackInfo{}, nil, fmt.Errorf("medialink: meta: %w", err)
	}
	if typ == FrameClose {
		return TrackInfo{}, nil, fmt.Errorf("%w: %s", ErrRejected, payload)
	}
	var info TrackInfo
	if typ != FrameMeta || json.Unmarshal(payload, &info) != nil {
		return TrackInfo{}, nil, fmt.Errorf("%w: bad meta frame", ErrBadFrame)
	}
	_ = conn.SetDeadline(time.Time{})
	return info, fr, nil
}
