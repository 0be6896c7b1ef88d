package turn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// firstReadTimeout is how long an accepted connection may stay silent (or take to complete
// its TLS handshake) before its first message: pion sets no deadline, so idle connections
// would otherwise hold a goroutine and a descriptor for ever.
const firstReadTimeout = 10 * time.Second

// portTries bounds the search for a port free for both UDP and TCP when Listen has port 0.
const portTries = 20

// listenPair binds UDP and TCP on the same address. With port 0 it takes an ephemeral UDP port
// and binds TCP to the same number, starting over when TCP finds that port taken.
func listenPair(addr string) (net.PacketConn, net.Listener, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: Listen %q: %v", ErrConfig, addr, err)
	}
	port, err := net.LookupPort("udp", portStr)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: Listen %q: %v", ErrConfig, addr, err)
	}
	if port != 0 {
		return bindPair(host, port)
	}
	for range portTries {
		pc, ln, err := bindPair(host, 0)
		if !errors.Is(err, syscall.EADDRINUSE) {
			return pc, ln, err
		}
	}
	return nil, nil, fmt.Errorf("turn: listen %s: no port free for both UDP and TCP after %d tries", addr, portTries)
}

// bindPair binds UDP on host:port, then TCP on the UDP socket's port.
func bindPair(host string, port int) (net.PacketConn, net.Listener, error) {
	udpAddr := net.JoinHostPort(host, strconv.Itoa(port))
	pc, err := net.ListenPacket("udp", udpAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("turn: listen udp %s: %w", udpAddr, err)
	}
	tcpAddr := net.JoinHostPort(host, strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port))
	ln, err := net.Listen("tcp", tcpAddr)
	if err != nil {
		pc.Close()
		return nil, nil, fmt.Errorf("turn: listen tcp %s: %w", tcpAddr, err)
	}
	return pc, ln, nil
}

// listenTLS binds the TURN over TLS listener (RFC 5766 section 2.1, turns:).
func listenTLS(addr, certFile, keyFile string) (net.Listener, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("turn: TLS certificate %s, key %s: %w", certFile, keyFile, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("turn: listen tls %s: %w", addr, err)
	}
	return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), nil
}

// loops tracks pion's read loops over our sockets so Run can wait for them after closing the
// sockets: one per listening socket, one per accepted connection. A loop counts as ended when
// pion sees its read or accept fail, or closes the connection, which it does last. The server
// closes the sockets underneath the wrappers, so its own closing never ends a loop early. Pion
// never closes accepted connections when its listener closes; closeConns does.
type loops struct {
	wg        sync.WaitGroup
	firstRead time.Duration // firstReadTimeout; tests shorten it
	mu        sync.Mutex
	conns     map[*trackedConn]struct{}
	closed    bool
}

func newLoops() *loops {
	return &loops{firstRead: firstReadTimeout, conns: map[*trackedConn]struct{}{}}
}

// start counts one loop and returns the function that ends it (once).
func (l *loops) start() func() {
	l.wg.Add(1)
	return sync.OnceFunc(l.wg.Done)
}

// add registers an accepted connection; false once the server is closed.
func (l *loops) add(c *trackedConn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.conns[c] = struct{}{}
	c.end = l.start()
	return true
}

func (l *loops) remove(c *trackedConn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// closeConns closes every accepted connection and refuses new ones.
func (l *loops) closeConns() {
	l.mu.Lock()
	l.closed = true
	conns := make([]net.Conn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c.Conn)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// trackedPacketConn is the UDP listening socket.
type trackedPacketConn struct {
	net.PacketConn
	end func()
}

func (c *trackedPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(p)
	if err != nil {
		c.end()
	}
	return n, addr, err
}

// trackedListener is a TCP or TLS listener. Accept retries other errors than a closed listener
// (EMFILE, ENFILE) with a backoff as net/http does, because pion's accept loop gives the
// listener up for good on any error.
type trackedListener struct {
	net.Listener
	loops *loops
	log   *slog.Logger
	end   func()
}

func (l *trackedListener) Accept() (net.Conn, error) {
	backoff := 5 * time.Millisecond
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			tc := &trackedConn{Conn: c, loops: l.loops}
			c.SetReadDeadline(time.Now().Add(l.loops.firstRead))
			if !l.loops.add(tc) {
				c.Close()
				continue // the listener is closed too: the next Accept fails
			}
			return tc, nil
		}
		if errors.Is(err, net.ErrClosed) {
			l.end()
			return nil, err
		}
		l.log.Warn("turn accept failed, retrying", "addr", l.Addr().String(), "err", err)
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Second)
	}
}

// trackedConn is one accepted connection. TLS connections are wrapped too, so pion sees no
// *tls.Conn and the handshake happens on the first read, inside the tracked loop.
type trackedConn struct {
	net.Conn
	loops *loops
	end   func()
	heard bool // a first read succeeded; only pion's loop reads
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.end()
		return n, err
	}
	if !c.heard {
		c.heard = true
		c.Conn.SetReadDeadline(time.Time{})
	}
	return n, nil
}

func (c *trackedConn) Close() error {
	c.loops.remove(c)
	c.end()
	return c.Conn.Close()
}
