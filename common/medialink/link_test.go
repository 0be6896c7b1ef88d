package medialink

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeExporter exports one track id and records keyframe requests and detaches.
type fakeExporter struct {
	mu        sync.Mutex
	links     []*Link
	keyframes atomic.Int32
	detached  atomic.Int32
}

func (e *fakeExporter) Export(trackID string, l *Link) (Export, error) {
	if trackID != "track-1" {
		return Export{}, errors.New("Track " + trackID + " does NOT exist")
	}
	e.mu.Lock()
	e.links = append(e.links, l)
	e.mu.Unlock()
	return Export{
		Info:     TrackInfo{TrackID: trackID, Kind: "video", MimeType: "video/VP8", ClockRate: 90000},
		Keyframe: func() { e.keyframes.Add(1) },
		Detach:   func() { e.detached.Add(1) },
	}, nil
}

func (e *fakeExporter) link(t *testing.T) *Link {
	t.Helper()
	waitFor(t, "exported link", func() bool { e.mu.Lock(); defer e.mu.Unlock(); return len(e.links) > 0 })
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.links[0]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startServer(t *testing.T, exp Exporter) *Server {
	t.Helper()
	s, err := NewServer(Config{Secret: testSecret, Listen: "127.0.0.1:0"}, exp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

func rtpPacket(seq uint16) []byte {
	p := make([]byte, 20)
	p[0], p[1] = 0x80, 96
	binary.BigEndian.PutUint16(p[2:], seq)
	return p
}

func TestMediaLinkEndToEnd(t *testing.T) {
	exp := &fakeExporter{}
	s := startServer(t, exp)
	ticket, _ := s.Issue("track-1")
	ctx := context.Background()
	l, info, err := Dial(ctx, s.Addr(), ticket, 0)
	if err != nil {
		t.Fatal(err)
	}
	if info.MimeType != "video/VP8" || info.TrackID != "track-1" {
		t.Fatalf("info = %+v", info)
	}
	var got atomic.Int32
	runDone := make(chan error, 1)
	go func() {
		runDone <- l.Run(ctx, func(typ FrameType, p []byte) {
			if typ == FrameRTP {
				got.Add(1)
			}
		})
	}()
	up := exp.link(t)
	for seq := uint16(1); seq <= 10; seq++ {
		up.SendRTP(rtpPacket(seq))
	}
	waitFor(t, "10 packets", func() bool { return got.Load() == 10 })
	up.SendRTP(rtpPacket(20)) // a gap: the importer asks for a keyframe
	waitFor(t, "gap keyframe request", func() bool { return exp.keyframes.Load() == 1 })
	l.RequestKeyframe()
	waitFor(t, "explicit keyframe request", func() bool { return exp.keyframes.Load() == 2 })
	up.Close("source gone")
	if err := <-runDone; err != nil {
		t.Fatalf("importer Run = %v", err)
	}
	waitFor(t, "detach", func() bool { return exp.detached.Load() == 1 })
}

func TestMediaLinkRefusals(t *testing.T) {
	exp := &fakeExporter{}
	s := startServer(t, exp)
	ctx := context.Background()
	good, _ := s.Issue("track-1")
	l, _, err := Dial(ctx, s.Addr(), good, 0)
	if err != nil {
		t.Fatal(err)
	}
	l.Close("bye")
	unknown, _ := s.Issue("track-2")
	tests := []struct{ name, ticket string }{
		{"reused", good},
		{"garbage", "hello"},
		{"unknown track", unknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := Dial(ctx, s.Addr(), tc.ticket, 0); !errors.Is(err, ErrRejected) {
				t.Fatalf("Dial = %v, want ErrRejected", err)
			}
		})
	}
}

func TestMediaLinkSlowConsumerDrops(t *testing.T) {
	a, b := net.Pipe() // nobody reads b: every flush blocks
	defer b.Close()
	const queue = 4
	l := newLink(a, NewFrameReader(a), queue, false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = l.Run(ctx, func(FrameType, []byte) {}) }()
	// Full-size packets: what the writer holds beyond the queue is its buffer's worth of
	// frames plus the one whose write blocked; how far it got depends on scheduling.
	pkt := make([]byte, maxPacket)
	copy(pkt, rtpPacket(0))
	const total = 1000
	sent := 0
	for range total {
		if l.SendRTP(pkt) {
			sent++
		}
	}
	bound := queue + writeBuffer/(HeaderSize+maxPacket) + 1
	if sent > bound || l.Dropped() != uint64(total-sent) {
		t.Fatalf("sent %d dropped %d of %d: a slow consumer may hold at most %d", sent, l.Dropped(), total, bound)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop")
	}
}

// TestMediaLinkPendingHandshakesBounded checks that connections that never present a ticket
// are bounded: beyond MaxPendingHandshakes new ones are closed at once, and a real importer
// gets through again as soon as the idle ones are gone.
func TestMediaLinkPendingHandshakesBounded(t *testing.T) {
	exp := &fakeExporter{}
	s := startServer(t, exp)
	idle := make([]net.Conn, 0, MaxPendingHandshakes)
	for range MaxPendingHandshakes {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	waitFor(t, "pending handshakes full", func() bool { return len(s.pending) == MaxPendingHandshakes })
	extra, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	_ = extra.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = extra.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("a connection beyond the bound was kept open (read: %v)", err)
	}
	extra.Close()
	for _, c := range idle {
		c.Close()
	}
	waitFor(t, "pending handshakes released", func() bool { return len(s.pending) == 0 })
	ticket, _ := s.Issue("track-1")
	l, _, err := Dial(context.Background(), s.Addr(), ticket, 0)
	if err != nil {
		t.Fatalf("importer after the flood: %v", err)
	}
	l.Close("done")
}
