package transport

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/transport/v4"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Write batching. A subscriber's packet crosses pion's stack down to one sendto(2) on the
// shared ICE socket; with one publisher fanned out to many subscribers, that syscall per
// packet per subscriber was the largest single cost of the agent. batchConn queues the
// datagrams written to the socket and sends them with one sendmmsg(2) per batch from a
// writer goroutine it owns. A batch leaves when it holds batchFlushAt datagrams or when its
// first datagram has waited the batching window, whichever comes first, so batching adds at
// most the window (plus the send of the previous batch) to a datagram's latency, and much
// less under load, when batches fill. Sending from the writer goroutine measured cheaper
// than sending a full batch on the goroutine that filled it: the forwarding goroutine goes
// on encrypting the next packets on one core while the kernel sends on the other, and the
// batches grow larger.

// Batching defaults.
const (
	// DefaultWriteBatchWindow is the longest a datagram waits for its batch.
	DefaultWriteBatchWindow = 500 * time.Microsecond
	// batchFlushAt is the queue length that sends a batch at once; batchQueueCap the
	// length at which writers wait for the writer goroutine.
	batchFlushAt  = 64
	batchQueueCap = 256
	// batchSlotSize is the buffer preallocated per queued datagram (larger ones grow it).
	batchSlotSize = 1500
)

var (
	_ transport.UDPConn        = (*batchConn)(nil)
	_ ice.AddrPortReaderWriter = (*batchConn)(nil)
)

// errBatchAddr: a write to something other than a UDP address.
var errBatchAddr = errors.New("transport: batch conn writes only to UDP addresses")

// batchWriter is the sendmmsg(2) of an IPv4 or IPv6 socket (golang.org/x/net).
type batchWriter interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// batchSlot is one queued datagram, its buffer and address reused.
type batchSlot struct {
	buf  []byte
	ip   [16]byte
	addr net.UDPAddr
}

// batchQueue is a list of queued datagrams and the messages handed to sendmmsg.
type batchQueue struct {
	slots   []batchSlot
	msgs    []ipv4.Message
	n       int
	firstAt time.Time // when the first datagram was queued
}

func newBatchQueue() *batchQueue {
	q := &batchQueue{slots: make([]batchSlot, batchQueueCap), msgs: make([]ipv4.Message, batchQueueCap)}
	for i := range q.slots {
		q.slots[i].buf = make([]byte, 0, batchSlotSize)
		q.msgs[i].Buffers = make([][]byte, 1)
	}
	return q
}

// add copies one datagram into the next slot.
func (q *batchQueue) add(b []byte, to netip.AddrPort) {
	if q.n == 0 {
		q.firstAt = time.Now()
	}
	s, m := &q.slots[q.n], &q.msgs[q.n]
	s.buf = append(s.buf[:0], b...)
	ip := to.Addr()
	if ip.Is4() || ip.Is4In6() {
		a := ip.Unmap().As4()
		copy(s.ip[:], a[:])
		s.addr.IP = s.ip[:4]
	} else {
		s.ip = ip.As16()
		s.addr.IP = s.ip[:]
	}
	s.addr.Port, s.addr.Zone = int(to.Port()), ip.Zone()
	m.Buffers[0], m.Addr = s.buf, &s.addr
	q.n++
}

// batchConn is a UDP socket whose writes are sent in batches (see above). Reads go straight
// to the socket. Write errors of queued datagrams are counted and logged, not returned: the
// datagram had been accepted, as a UDP send accepts datagrams the network may drop.
type batchConn struct {
	*net.UDPConn
	batch   batchWriter
	window  time.Duration
	log     *slog.Logger
	first   chan struct{} // a datagram entered an empty queue
	full    chan struct{} // the queue reached batchFlushAt
	done    chan struct{} // closed by Close
	exited  chan struct{} // closed when the writer goroutine ends
	closeMu sync.Once

	mu     sync.Mutex
	room   *sync.Cond  // signalled when the writer takes the queue
	queue  *batchQueue // filled by writers
	spare  *batchQueue // sent by the writer goroutine
	closed bool

	sent, batches, failed atomic.Uint64
	lastLog               atomic.Int64 // unix ns of the last error logged
}

// newBatchConn wraps c and starts its writer goroutine, which Close stops.
func newBatchConn(c *net.UDPConn, window time.Duration, log *slog.Logger) *batchConn {
	b := &batchConn{UDPConn: c, window: window, log: log, queue: newBatchQueue(), spare: newBatchQueue(),
		first: make(chan struct{}, 1), full: make(chan struct{}, 1),
		done: make(chan struct{}), exited: make(chan struct{})}
	b.room = sync.NewCond(&b.mu)
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		b.batch = ipv6.NewPacketConn(c)
	} else {
		b.batch = ipv4.NewPacketConn(c)
	}
	go b.run()
	return b
}

// WriteToAddrPort queues one datagram; it is what pion's UDP mux calls (ice's
// AddrPortReaderWriter).
func (b *batchConn) WriteToAddrPort(p []byte, to netip.AddrPort) (int, error) {
	if !to.IsValid() {
		return 0, fmt.Errorf("%w: invalid address", errBatchAddr)
	}
	b.mu.Lock()
	for b.queue.n == len(b.queue.slots) && !b.closed {
		b.room.Wait()
	}
	if b.closed {
		b.mu.Unlock()
		return 0, net.ErrClosed
	}
	b.queue.add(p, to)
	n := b.queue.n
	b.mu.Unlock()
	switch n {
	case 1:
		signal(b.first)
	case batchFlushAt:
		signal(b.full)
	}
	return len(p), nil
}

// signal wakes a writer goroutine channel without blocking.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// ReadFromAddrPort implements ice's AddrPortReaderWriter.
func (b *batchConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return b.ReadFromUDPAddrPort(p)
}

// WriteTo queues a datagram to a *net.UDPAddr.
func (b *batchConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	a, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("%w: %T", errBatchAddr, addr)
	}
	return b.WriteToUDP(p, a)
}

// WriteToUDP queues a datagram.
func (b *batchConn) WriteToUDP(p []byte, addr *net.UDPAddr) (int, error) {
	if addr == nil {
		return 0, fmt.Errorf("%w: nil address", errBatchAddr)
	}
	return b.WriteToAddrPort(p, addr.AddrPort())
}

// WriteToUDPAddrPort queues a datagram.
func (b *batchConn) WriteToUDPAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	return b.WriteToAddrPort(p, addr)
}

// WriteMsgUDP queues a datagram without control data; control data is not supported (it
// would have to bypass the queue and reorder datagrams).
func (b *batchConn) WriteMsgUDP(p, oob []byte, addr *net.UDPAddr) (n, oobn int, err error) {
	if len(oob) > 0 {
		return 0, 0, fmt.Errorf("%w: control data", errBatchAddr)
	}
	n, err = b.WriteToUDP(p, addr)
	return n, 0, err
}

// WriteMsgUDPAddrPort is WriteMsgUDP with a netip address.
func (b *batchConn) WriteMsgUDPAddrPort(p, oob []byte, addr netip.AddrPort) (n, oobn int, err error) {
	if len(oob) > 0 {
		return 0, 0, fmt.Errorf("%w: control data", errBatchAddr)
	}
	n, err = b.WriteToAddrPort(p, addr)
	return n, 0, err
}

// Write is not supported: the socket is not connected.
func (b *batchConn) Write([]byte) (int, error) {
	return 0, fmt.Errorf("%w: no destination", errBatchAddr)
}

// Close sends what is queued, stops the writer goroutine and closes the socket. Writes
// after Close fail with net.ErrClosed.
func (b *batchConn) Close() error {
	first := false
	b.closeMu.Do(func() {
		first = true
		b.mu.Lock()
		b.closed = true
		b.room.Broadcast()
		b.mu.Unlock()
		close(b.done)
		<-b.exited
	})
	if !first {
		return net.ErrClosed
	}
	return b.UDPConn.Close()
}

// run is the writer goroutine: it waits for a first datagram, then until that datagram has
// waited the window or the batch is full, and sends the queue.
func (b *batchConn) run() {
	defer close(b.exited)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-b.first:
		case <-b.full:
		case <-b.done:
			b.flush()
			return
		}
		n, since := b.queuedSince()
		if wait := b.window - time.Since(since); n < batchFlushAt && wait > 0 {
			timer.Reset(wait)
			select {
			case <-b.full:
			case <-timer.C:
			case <-b.done:
			}
			timer.Stop()
		}
		b.flush()
	}
}

// queuedSince returns the number of datagrams waiting and when the first was queued.
func (b *batchConn) queuedSince() (int, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.queue.n, b.queue.firstAt
}

// flush takes the queue (writers go on filling the other one) and sends it.
func (b *batchConn) flush() {
	b.mu.Lock()
	q := b.queue
	b.queue, b.spare = b.spare, q
	b.room.Broadcast()
	b.mu.Unlock()
	if q.n == 0 {
		return
	}
	b.send(q.msgs[:q.n])
	q.n = 0
}

// send writes msgs with as few sendmmsg calls as the kernel allows. A datagram the kernel
// refuses (sendmmsg fails on the first message of a call) is counted and skipped.
func (b *batchConn) send(msgs []ipv4.Message) {
	b.batches.Add(1)
	for len(msgs) > 0 {
		n, err := b.batch.WriteBatch(msgs, 0)
		if n > 0 {
			b.sent.Add(uint64(n))
			msgs = msgs[n:]
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			b.failed.Add(uint64(len(msgs)))
			return
		}
		b.failed.Add(1)
		b.logError(err, msgs[0].Addr)
		msgs = msgs[1:]
	}
}

// logError logs a send error at most once a second.
func (b *batchConn) logError(err error, to net.Addr) {
	now := time.Now().UnixNano()
	last := b.lastLog.Load()
	if now-last < int64(time.Second) || !b.lastLog.CompareAndSwap(last, now) {
		return
	}
	b.log.Warn("udp send failed", "to", to, "error", err, "failed", b.failed.Load())
}
