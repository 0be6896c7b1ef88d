package ffmpeg

import (
	"fmt"
	"net"
)

// maxPortTries bounds the search for a free pair.
const maxPortTries = 64

// FreePortPair returns an even UDP port p on 127.0.0.1 such that p and p+1 are both free
// right now (RTP and RTCP, RFC 3550 §11). The ports are released before returning, so the
// caller must hand them to ffmpeg promptly; a lost race shows up as an ffmpeg bind error
// and the caller's restart picks new ports.
func FreePortPair() (int, error) {
	for range maxPortTries {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return 0, fmt.Errorf("ffmpeg: free port: %w", err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		_ = c.Close()
		if p%2 != 0 {
			p--
		}
		if pairFree(p) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("ffmpeg: no free UDP port pair after %d tries", maxPortTries)
}

// pairFree reports whether p and p+1 can both be bound now.
func pairFree(p int) bool {
	var open []*net.UDPConn
	defer func() {
		for _, c := range open {
			_ = c.Close()
		}
	}()
	for _, port := range []int{p, p + 1} {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			return false
		}
		open = append(open, c)
	}
	return true
}
