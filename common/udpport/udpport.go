// Package udpport picks loopback UDP port pairs for child processes (ffmpeg reading RTP from
// an SDP binds port P for RTP and P+1 for RTCP itself). A port can only be checked free, then
// released for the child to bind, so another socket may take it in between. The pairs are
// therefore chosen at random below the kernel's ephemeral range, where only explicit binds
// land, instead of from the ephemeral ports every outgoing socket draws from; callers still
// treat an "address already in use" from the child as a reason to try new ports.
package udpport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// Range of the candidate ports when the ephemeral range cannot be read or leaves no room
// below it.
const (
	defaultLow  = 20000
	defaultHigh = 32768 // Linux's default ephemeral range starts here
	maxTries    = 256
)

// ErrNoPair: no free pair was found.
var ErrNoPair = errors.New("udpport: no free UDP port pair")

// ephemeralLow returns the first port of the kernel's ephemeral range (Linux), or
// defaultHigh.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return defaultHigh
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return defaultHigh
	}
	low, err := strconv.Atoi(f[0])
	if err != nil || low <= defaultLow+1000 {
		return defaultHigh
	}
	return low
}

// Pairs returns n even ports P, all distinct, with P and P+1 free on 127.0.0.1 right now.
func Pairs(n int) ([]int, error) {
	high := ephemeralLow()
	low := defaultLow
	if high-low < 1000 {
		low = 1024
	}
	var ports []int
	for try := 0; len(ports) < n; try++ {
		if try == maxTries {
			return nil, fmt.Errorf("%w after %d tries in [%d, %d)", ErrNoPair, maxTries, low, high)
		}
		p := low + 2*rand.IntN((high-low)/2-1)
		if taken(ports, p) || !pairFree(p) {
			continue
		}
		ports = append(ports, p)
	}
	return ports, nil
}

// Pair returns one pair (Pairs(1)).
func Pair() (int, error) {
	ps, err := Pairs(1)
	if err != nil {
		return 0, err
	}
	return ps[0], nil
}

// InUse reports whether a child's error output says a port was taken meanwhile.
func InUse(output string) bool {
	return strings.Contains(output, "Address already in use") || strings.Contains(output, "bind failed")
}

// Free reports whether port can be bound on 127.0.0.1 now (e.g. whether a child process has
// bound it yet).
func Free(port int) bool {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

func taken(ports []int, p int) bool {
	for _, q := range ports {
		if q == p {
			return true
		}
	}
	return false
}

// pairFree reports whether p and p+1 can both be bound on 127.0.0.1 now.
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
