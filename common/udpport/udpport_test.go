package udpport

import (
	"net"
	"testing"
)

func TestPairs(t *testing.T) {
	ps, err := Pairs(8)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	high := ephemeralLow()
	for _, p := range ps {
		if p%2 != 0 || p < 1024 || p+1 >= high || seen[p] {
			t.Fatalf("pair %d: odd, out of range (< %d) or repeated in %v", p, high, ps)
		}
		seen[p] = true
		for _, port := range []int{p, p + 1} {
			c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
			if err != nil {
				t.Fatalf("port %d of a returned pair cannot be bound: %v", port, err)
			}
			_ = c.Close()
		}
	}
}

func TestPairSkipsBusyPorts(t *testing.T) {
	// Occupy a pair's RTCP port: pairFree must refuse it.
	p, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p + 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if pairFree(p) {
		t.Fatalf("pair %d reported free with %d bound", p, p+1)
	}
}

func TestInUse(t *testing.T) {
	if !InUse("[udp @ 0x1] bind failed: Address already in use") || InUse("Invalid data found") {
		t.Fatal("InUse misreads ffmpeg's output")
	}
}
