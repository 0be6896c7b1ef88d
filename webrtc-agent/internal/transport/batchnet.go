package transport

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/stdnet"
)

var _ transport.Net = (*batchNet)(nil)

// batchNet is the network pion's UDP mux listens on: the standard one, with every UDP
// socket wrapped in a batchConn.
type batchNet struct {
	*stdnet.Net
	window time.Duration
	log    *slog.Logger

	mu    sync.Mutex
	conns []*batchConn // for stats; closed by the UDP mux
}

// batchStats are the counters of an engine's batched sockets.
type batchStats struct {
	Sent, Batches, Failed uint64
}

// stats sums the counters of the sockets opened so far.
func (n *batchNet) stats() batchStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	var s batchStats
	for _, c := range n.conns {
		s.Sent += c.sent.Load()
		s.Batches += c.batches.Load()
		s.Failed += c.failed.Load()
	}
	return s
}

// newBatchNet returns the standard network with batched UDP writes.
func newBatchNet(window time.Duration, log *slog.Logger) (*batchNet, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("transport: network: %w", err)
	}
	return &batchNet{Net: n, window: window, log: log}, nil
}

// ListenUDP opens a UDP socket with batched writes.
func (n *batchNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	b := newBatchConn(c, n.window, n.log)
	n.mu.Lock()
	n.conns = append(n.conns, b)
	n.mu.Unlock()
	return b, nil
}
