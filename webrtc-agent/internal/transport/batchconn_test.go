package transport

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/ipv4"
)

// newTestBatchConn returns a batch conn on 127.0.0.1 and a receiving socket.
func newTestBatchConn(t *testing.T, window time.Duration) (*batchConn, *net.UDPConn) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rx.Close() })
	_ = rx.SetReadBuffer(4 << 20) // room for a whole batch (capped by net.core.rmem_max)
	b := newBatchConn(c, window, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { _ = b.Close() })
	return b, rx
}

// datagram is test datagram seq of writer w, size bytes long, with a checkable body.
func datagram(w, seq, size int) []byte {
	p := make([]byte, size)
	binary.BigEndian.PutUint16(p[0:], uint16(w))
	binary.BigEndian.PutUint32(p[2:], uint32(seq))
	for i := 6; i < size; i++ {
		p[i] = byte(seq + i)
	}
	return p
}

// receive reads n datagrams from rx (10 s deadline) and returns them.
func receive(t *testing.T, rx *net.UDPConn, n int) [][]byte {
	t.Helper()
	_ = rx.SetReadDeadline(time.Now().Add(10 * time.Second))
	out := make([][]byte, 0, n)
	buf := make([]byte, 65536)
	for len(out) < n {
		k, _, err := rx.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("after %d of %d datagrams: %v", len(out), n, err)
		}
		out = append(out, append([]byte(nil), buf[:k]...))
	}
	return out
}

func rxAddr(rx *net.UDPConn) netip.AddrPort { return rx.LocalAddr().(*net.UDPAddr).AddrPort() }

func TestBatchConnOrderAndContent(t *testing.T) {
	b, rx := newTestBatchConn(t, time.Hour) // only full batches and Close send
	sizes := []int{8, 100, 1200, 1500, 2000}
	var want [][]byte
	for i := range batchFlushAt {
		p := datagram(0, i, sizes[i%len(sizes)])
		want = append(want, p)
		if n, err := b.WriteToAddrPort(p, rxAddr(rx)); err != nil || n != len(p) {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
		p[7] ^= 0xFF // the caller may reuse its buffer at once: the conn must have copied it
	}
	got := receive(t, rx, batchFlushAt)
	for i := range want {
		want[i][7] ^= 0xFF
		if string(got[i]) != string(want[i]) {
			t.Fatalf("datagram %d differs (len %d, want %d)", i, len(got[i]), len(want[i]))
		}
	}
	waitCount(t, "sent", &b.sent, batchFlushAt)
	if bt := b.batches.Load(); bt != 1 {
		t.Fatalf("%d batches, want 1", bt)
	}
}

func TestBatchConnFlushAfterWindow(t *testing.T) {
	const window = 20 * time.Millisecond
	b, rx := newTestBatchConn(t, window)
	start := time.Now()
	if _, err := b.WriteTo(datagram(0, 1, 50), rx.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	got := receive(t, rx, 1)
	t.Logf("a lone datagram waited %v (window %v)", time.Since(start), window)
	if binary.BigEndian.Uint32(got[0][2:]) != 1 {
		t.Fatalf("got %x", got[0][:6])
	}
	waitCount(t, "sent", &b.sent, 1)
}

func TestBatchConnCloseFlushesAndStops(t *testing.T) {
	base := runtime.NumGoroutine()
	b, rx := newTestBatchConn(t, time.Hour)
	for i := range 10 {
		if _, err := b.WriteToUDP(datagram(0, i, 200), rx.LocalAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, rx, 10); binary.BigEndian.Uint32(got[9][2:]) != 9 {
		t.Fatal("queued datagrams not sent in order on Close")
	}
	if _, err := b.WriteToAddrPort([]byte{1}, rxAddr(rx)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if err := b.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
	select {
	case <-b.exited:
	default:
		t.Fatal("writer goroutine still running after Close")
	}
	waitGoroutines(t, base)
}

// waitGoroutines waits until the goroutine count is back to base (10 s deadline).
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want %d:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBatchConnSendErrorSkipsOneDatagram(t *testing.T) {
	b, rx := newTestBatchConn(t, time.Millisecond)
	bad := netip.MustParseAddrPort("[::1]:9") // IPv6 destination on an IPv4 socket
	for i, to := range []netip.AddrPort{rxAddr(rx), bad, rxAddr(rx)} {
		if _, err := b.WriteToAddrPort(datagram(0, i, 60), to); err != nil {
			t.Fatal(err)
		}
	}
	got := receive(t, rx, 2)
	if binary.BigEndian.Uint32(got[0][2:]) != 0 || binary.BigEndian.Uint32(got[1][2:]) != 2 {
		t.Fatal("datagrams around the failing one not delivered in order")
	}
	waitCount(t, "failed", &b.failed, 1)
}

// waitCount waits until c reaches want (10 s deadline); counters are updated after the
// datagrams left, so a receiver may see them first.
func waitCount(t *testing.T, what string, c *atomic.Uint64, want uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %d, want %d", what, c.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBatchConnRejectsBadWrites(t *testing.T) {
	b, rx := newTestBatchConn(t, time.Millisecond)
	tests := []struct {
		name  string
		write func() error
	}{
		{"tcp address", func() error {
			_, err := b.WriteTo([]byte{1}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9})
			return err
		}},
		{"nil udp address", func() error { _, err := b.WriteToUDP([]byte{1}, nil); return err }},
		{"invalid addrport", func() error { _, err := b.WriteToAddrPort([]byte{1}, netip.AddrPort{}); return err }},
		{"control data", func() error {
			_, _, err := b.WriteMsgUDP([]byte{1}, []byte{1}, rx.LocalAddr().(*net.UDPAddr))
			return err
		}},
		{"unconnected write", func() error { _, err := b.Write([]byte{1}); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.write(); !errors.Is(err, errBatchAddr) {
				t.Fatalf("err = %v, want errBatchAddr", err)
			}
		})
	}
}

func TestBatchConnConcurrentWritersKeepTheirOrder(t *testing.T) {
	const writers, each = 4, 40
	b, rx := newTestBatchConn(t, 200*time.Microsecond)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, _, err := b.WriteMsgUDPAddrPort(datagram(w, i, 100), nil, rxAddr(rx)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	got := receive(t, rx, writers*each)
	wg.Wait()
	next := make([]uint32, writers)
	for _, p := range got {
		w, seq := binary.BigEndian.Uint16(p), binary.BigEndian.Uint32(p[2:])
		if seq != next[w] {
			t.Fatalf("writer %d: got seq %d, want %d", w, seq, next[w])
		}
		next[w]++
	}
	t.Logf("%d datagrams in %d batches", b.sent.Load(), b.batches.Load())
}

func TestBatchConnIPv6(t *testing.T) {
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	rx, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	b := newBatchConn(c, time.Millisecond, slog.New(slog.DiscardHandler))
	defer b.Close()
	if _, err := b.WriteToAddrPort(datagram(0, 7, 80), rxAddr(rx)); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, rx, 1); binary.BigEndian.Uint32(got[0][2:]) != 7 {
		t.Fatal("wrong datagram")
	}
}

func TestBatchConnThroughEngine(t *testing.T) {
	base := runtime.NumGoroutine()
	e, err := NewEngine(NetConfig{Interfaces: []string{"lo"}, IncludeLoopback: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.batch.mu.Lock()
	conns := append([]*batchConn(nil), e.batch.conns...)
	e.batch.mu.Unlock()
	if len(conns) == 0 || len(conns) != len(e.udp.GetListenAddresses()) {
		t.Fatalf("%d batch conns for %d listen addresses", len(conns), len(e.udp.GetListenAddresses()))
	}
	e.Close()
	for _, c := range conns {
		select {
		case <-c.exited:
		default:
			t.Fatal("a batch conn outlived its engine")
		}
	}
	waitGoroutines(t, base)
	direct, err := NewEngine(NetConfig{Interfaces: []string{"lo"}, IncludeLoopback: true, WriteBatchWindow: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	if direct.batch != nil {
		t.Fatal("negative WriteBatchWindow still batches")
	}
}

// gatedWriter holds every batch until gate is closed, to fill the queue behind it.
type gatedWriter struct {
	w       batchWriter
	gate    chan struct{}
	entered chan struct{}
}

func (g gatedWriter) WriteBatch(ms []ipv4.Message, flags int) (int, error) {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.gate
	return g.w.WriteBatch(ms, flags)
}

// fillBehindGate queues a batch that the writer goroutine holds at the gate, then fills
// the queue; it returns the number of datagrams written.
func fillBehindGate(t *testing.T, b *batchConn, rx *net.UDPConn) (gatedWriter, int) {
	t.Helper()
	g := gatedWriter{w: b.batch, gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	b.batch = g
	n := 0
	for range batchFlushAt {
		if _, err := b.WriteToAddrPort(datagram(0, n, 20), rxAddr(rx)); err != nil {
			t.Fatal(err)
		}
		n++
	}
	<-g.entered // the writer goroutine holds the first batch
	for range batchQueueCap {
		if _, err := b.WriteToAddrPort(datagram(0, n, 20), rxAddr(rx)); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return g, n
}

func TestBatchConnFullQueueWaitsForTheWriter(t *testing.T) {
	b, rx := newTestBatchConn(t, time.Hour)
	g, n := fillBehindGate(t, b, rx)
	done := make(chan error, 1)
	go func() { // the queue is full: this write waits for the writer goroutine
		_, err := b.WriteToAddrPort(datagram(0, n, 20), rxAddr(rx))
		done <- err
	}()
	close(g.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_ = b.Close() // sends the last datagrams
	for i, p := range receive(t, rx, n+1) {
		if seq := binary.BigEndian.Uint32(p[2:]); seq != uint32(i) {
			t.Fatalf("datagram %d has seq %d", i, seq)
		}
	}
}

func TestBatchConnCloseReleasesWaitingWrites(t *testing.T) {
	b, rx := newTestBatchConn(t, time.Hour)
	g, n := fillBehindGate(t, b, rx)
	done := make(chan error, 1)
	go func() {
		_, err := b.WriteToAddrPort(datagram(0, n, 20), rxAddr(rx))
		done <- err
	}()
	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("waiting write: %v, want net.ErrClosed", err)
	}
	close(g.gate)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if got := len(receive(t, rx, n)); got != n {
		t.Fatalf("%d datagrams sent, want the %d queued before Close", got, n)
	}
}
