package netlab

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Addresses of the two-namespace lab most tests use.
const (
	clientAddr = "10.77.1.1/24"
	serverAddr = "10.77.1.2/24"
	serverIP   = "10.77.1.2"
)

// pair returns a lab of two linked namespaces, client and server, and the client's device.
func pair(t *testing.T) (client, server *NS, clientDev string) {
	t.Helper()
	lab := New(t)
	client, server = lab.Namespace("client"), lab.Namespace("server")
	clientDev, _ = lab.Link(client, server, clientAddr, serverAddr)
	return client, server, clientDev
}

// wantAll fails the test unless every one of count datagrams came back.
func wantAll(t *testing.T, what string, got, count int) {
	t.Helper()
	if got != count {
		t.Fatalf("%s: %d of %d replies, want all", what, got, count)
	}
}

// TestLabPreflight checks that a lab refuses to start without root or with a tool missing,
// naming the cause.
func TestLabPreflight(t *testing.T) {
	all := func(name string) (string, error) { return "/bin/" + name, nil }
	noNft := func(name string) (string, error) {
		if name == "nft" || name == "tc" {
			return "", exec.ErrNotFound
		}
		return all(name)
	}
	tests := []struct {
		name    string
		euid    int
		look    func(string) (string, error)
		wantErr error
		wantMsg string
	}{
		{"root with tools", 0, all, nil, ""},
		{"not root", 1000, all, errNotRoot, "euid is 1000"},
		{"tools missing", 0, noNft, errMissingTool, "tc, nft"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tools, err := preflight(tt.euid, tt.look)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("message %q does not say %q", err, tt.wantMsg)
			}
			if err == nil && tools["nsenter"] != "/bin/nsenter" {
				t.Fatalf("tools %v", tools)
			}
		})
	}
}

// TestLabNamespace checks that a namespace starts with only lo, up, and that a link puts
// one addressed end in each namespace and nothing in the test's own.
func TestLabNamespace(t *testing.T) {
	lab := New(t)
	a, b := lab.Namespace("a"), lab.Namespace("b")
	if a.Name() != "a" || a.PID() <= 0 || a.PID() == b.PID() {
		t.Fatalf("names %q %q, PIDs %d %d", a.Name(), b.Name(), a.PID(), b.PID())
	}
	links := a.Run(t, "ip", "-o", "link", "show")
	if n := strings.Count(links, "\n"); n != 1 || !strings.Contains(links, ": lo: <LOOPBACK,UP,LOWER_UP>") {
		t.Fatalf("new namespace links, want only lo up:\n%s", links)
	}
	before, _ := exec.Command("ip", "-o", "link", "show").Output()
	aDev, bDev := lab.Link(a, b, "10.77.1.1/24", "fd77::2/64")
	cDev, _ := lab.Link(a, b, "", "")
	if aDev == bDev || aDev == cDev {
		t.Fatalf("device names %q %q %q are not unique", aDev, bDev, cDev)
	}
	for _, c := range []struct {
		ns       *NS
		dev, has string
	}{{a, aDev, "inet 10.77.1.1/24"}, {b, bDev, "inet6 fd77::2/64"}} {
		out := c.ns.Run(t, "ip", "-o", "addr", "show", "dev", c.dev)
		if !hasUsable(out, c.has) {
			t.Fatalf("%s in %s, want %q usable:\n%s", c.dev, c.ns.Name(), c.has, out)
		}
	}
	if after, _ := exec.Command("ip", "-o", "link", "show").Output(); string(after) != string(before) {
		t.Fatalf("the test's own namespace changed:\n%s\nthen:\n%s", before, after)
	}
}

// hasUsable tells whether `ip -o addr` output has the address addr, not tentative.
func hasUsable(ipAddr, addr string) bool {
	for line := range strings.Lines(ipAddr) {
		if strings.Contains(line, addr+" ") {
			return !strings.Contains(line, "tentative")
		}
	}
	return false
}

// TestLabEcho checks that UDP and TCP cross a link both ways.
func TestLabEcho(t *testing.T) {
	client, server, _ := pair(t)
	echo := startServer(t, server, "udp-echo", serverIP+":40000")
	wantAll(t, "udp", ping(t, client, serverIP+":40000", 20), 20)
	if got := echo.received(t); got != 20 {
		t.Fatalf("server received %d datagrams, want 20", got)
	}
	startServer(t, server, "tcp-sink", serverIP+":40001")
	sendTCP(t, client, serverIP+":40001", 64<<10)
}

// TestLabDropUDP checks that DropUDP stops UDP entering (blocked server) and leaving
// (blocked client) a namespace, leaves TCP and lo alone, and that AllowUDP undoes it. The
// two cases run at once with the same addresses, as labs of parallel tests would.
func TestLabDropUDP(t *testing.T) {
	for _, blockServer := range []bool{true, false} {
		t.Run(fmt.Sprintf("server=%v", blockServer), func(t *testing.T) {
			t.Parallel()
			client, server, _ := pair(t)
			blocked := client
			if blockServer {
				blocked = server
			}
			startServer(t, server, "tcp-sink", serverIP+":40001")
			blocked.DropUDP(t)
			blocked.DropUDP(t) // idempotent
			echo := startServer(t, server, "udp-echo", serverIP+":40000")
			if got := ping(t, client, serverIP+":40000", 5); got != 0 {
				t.Fatalf("%d replies through DropUDP, want 0", got)
			}
			if got := echo.received(t); got != 0 {
				t.Fatalf("server received %d datagrams through DropUDP, want 0", got)
			}
			sendTCP(t, client, serverIP+":40001", 16<<10)
			startServer(t, blocked, "udp-echo", "127.0.0.1:40002")
			wantAll(t, "udp on lo of the blocked namespace", ping(t, blocked, "127.0.0.1:40002", 5), 5)

			blocked.AllowUDP(t)
			startServer(t, server, "udp-echo", serverIP+":40000")
			wantAll(t, "udp after AllowUDP", ping(t, client, serverIP+":40000", 20), 20)
		})
	}
}

// TestLabLoss checks that Loss drops about its percentage of the matching packets only, and
// that percentage 0 removes the rule of that match alone.
func TestLabLoss(t *testing.T) {
	const count = 400
	client, server, _ := pair(t)
	startServer(t, server, "udp-echo", serverIP+":40000")
	addr := serverIP + ":40000"

	client.Loss(t, 50, "udp dport 40000")
	if got := ping(t, client, addr, count); got < count/4 || got > count*3/4 {
		t.Fatalf("50%% loss: %d of %d replies, want 25%%..75%%", got, count)
	}
	client.Loss(t, 100, "udp dport 40009") // another match: a second rule
	client.Loss(t, 0, "udp dport 40000")
	wantAll(t, "after removing the matching rule", ping(t, client, addr, count), count)
	client.Loss(t, 100, "meta l4proto udp")
	if got := ping(t, client, addr, 20); got != 0 {
		t.Fatalf("100%% loss: %d replies, want 0", got)
	}
}

// TestLabShape checks that Shape caps a TCP transfer at about its rate, that a second call
// changes the cap, and that Unshape lifts it.
func TestLabShape(t *testing.T) {
	const (
		size      = 200 << 10
		rateKbit  = 300
		capKbit   = 2 * rateKbit // functional bound, not a timing measurement
		freeKbit  = 4 * capKbit  // an unshaped veth carries far more
		burstByte = 16000
	)
	client, server, dev := pair(t)
	startServer(t, server, "tcp-sink", serverIP+":40001")
	addr := serverIP + ":40001"
	if got := sendTCP(t, client, addr, size); got < freeKbit {
		t.Fatalf("unshaped: %.0f kbit/s, want over %d", got, freeKbit)
	}
	client.Shape(t, dev, 100*rateKbit, burstByte, 200*time.Millisecond)
	client.Shape(t, dev, rateKbit, burstByte, 200*time.Millisecond)
	if q := client.Run(t, "tc", "qdisc", "show", "dev", dev, "root"); !strings.Contains(q, "rate 300Kbit") {
		t.Fatalf("second Shape did not change the qdisc:\n%s", q)
	}
	start := time.Now()
	if got := sendTCP(t, client, addr, size); got > capKbit {
		t.Fatalf("shaped to %d kbit/s: %.0f kbit/s, want under %d", rateKbit, got, capKbit)
	}
	t.Logf("shaped transfer of %d KiB took %v", size>>10, time.Since(start).Round(time.Millisecond))
	client.Unshape(t, dev)
	client.Unshape(t, dev) // idempotent
	if got := sendTCP(t, client, addr, size); got < freeKbit {
		t.Fatalf("after Unshape: %.0f kbit/s, want over %d", got, freeKbit)
	}
}

// TestLabRouter checks a two-hop lab: hosts reach each other through a router namespace
// only once it forwards, and DropUDP and Loss on the router act on forwarded packets.
func TestLabRouter(t *testing.T) {
	lab := New(t)
	a, r, c := lab.Namespace("a"), lab.Namespace("router"), lab.Namespace("c")
	lab.Link(a, r, "10.77.1.1/24", "10.77.1.254/24")
	lab.Link(r, c, "10.77.2.254/24", "10.77.2.1/24")
	a.Route(t, "10.77.2.0/24", "10.77.1.254")
	c.Route(t, "default", "10.77.2.254")
	r.Run(t, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0") // new namespaces may inherit 1
	startServer(t, c, "udp-echo", "10.77.2.1:40000")
	startServer(t, c, "tcp-sink", "10.77.2.1:40001")
	udp, tcp := "10.77.2.1:40000", "10.77.2.1:40001"
	if got := ping(t, a, udp, 5); got != 0 {
		t.Fatalf("%d replies through a router that does not forward, want 0", got)
	}
	r.EnableForwarding(t)
	wantAll(t, "through the router", ping(t, a, udp, 20), 20)

	r.DropUDP(t)
	if got := ping(t, a, udp, 5); got != 0 {
		t.Fatalf("%d replies through a router dropping UDP, want 0", got)
	}
	sendTCP(t, a, tcp, 16<<10)
	r.AllowUDP(t)
	r.Loss(t, 50, "udp dport 40000")
	if got := ping(t, a, udp, 400); got < 100 || got > 300 {
		t.Fatalf("50%% loss on the router: %d of 400 replies, want 25%%..75%%", got)
	}
}

// TestLabCleanup checks that the end of a test leaves no holder process behind.
func TestLabCleanup(t *testing.T) {
	var pids []int
	t.Run("lab", func(t *testing.T) {
		lab := New(t)
		a, b := lab.Namespace("a"), lab.Namespace("b")
		lab.Link(a, b, "10.77.1.1/24", "10.77.1.2/24")
		a.DropUDP(t)
		pids = []int{a.PID(), b.PID()}
		for _, pid := range pids {
			if err := syscall.Kill(pid, 0); err != nil {
				t.Fatalf("holder %d not running: %v", pid, err)
			}
		}
	})
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("holder %d still there after cleanup (kill 0: %v)", pid, err)
		}
	}
	if len(pids) != 2 {
		t.Fatalf("lab subtest failed before starting its namespaces")
	}
}
