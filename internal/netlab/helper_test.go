package netlab

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests run their traffic in helper processes: the test binary itself, started inside a
// namespace with helperEnv naming the role it plays.
const helperEnv = "NETLAB_HELPER"

const (
	pingGap    = time.Millisecond       // between two datagrams of udp-ping
	pingLinger = 300 * time.Millisecond // udp-ping's wait for replies after its last send
	ioTimeout  = 20 * time.Second       // bounds every helper's network wait
	readyWait  = 10 * time.Second       // how long a server may take to listen
)

func TestMain(m *testing.M) {
	if role := os.Getenv(helperEnv); role != "" {
		os.Exit(runHelper(role, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// helpers are the roles a helper process can play.
var helpers = map[string]func(args []string) error{
	"udp-echo": udpEcho, // ADDR: echo datagrams; on SIGTERM print "received N"
	"udp-ping": udpPing, // ADDR COUNT: send COUNT datagrams, print "replies N"
	"tcp-sink": tcpSink, // ADDR: read each connection to EOF, answer with the byte count
	"tcp-send": tcpSend, // ADDR BYTES: send BYTES, print "BYTES NANOSECONDS" once acknowledged
}

func runHelper(role string, args []string) int {
	h, ok := helpers[role]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown helper role %q\n", role)
		return 2
	}
	if err := h(args); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", role, err)
		return 1
	}
	return 0
}

// udpEcho echoes every datagram to its sender until SIGTERM, then prints how many it got.
func udpEcho(args []string) error {
	conn, err := net.ListenPacket("udp", args[0])
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, func() { conn.Close() })
	fmt.Println("ready")
	received := 0
	buf := make([]byte, 2048)
	for {
		k, from, err := conn.ReadFrom(buf)
		if err != nil {
			break
		}
		received++
		_, _ = conn.WriteTo(buf[:k], from) // a blocked reply fails with EPERM: it is just lost
	}
	fmt.Printf("received %d\n", received)
	return nil
}

// udpPing sends COUNT numbered datagrams, paced, and prints how many distinct ones came
// back before pingLinger passed after the last send (or as soon as all did).
func udpPing(args []string) error {
	count, err := strconv.Atoi(args[1])
	if err != nil {
		return err
	}
	to, err := net.ResolveUDPAddr("udp", args[0])
	if err != nil {
		return err
	}
	// Unconnected, so that ICMP errors do not end the exchange early.
	conn, err := net.ListenUDP("udp", nil)
	if err != nil {
		return err
	}
	defer conn.Close()
	got := make(chan int, 1)
	go func() { got <- collect(conn, count) }()
	tick := time.NewTicker(pingGap)
	defer tick.Stop()
	msg := make([]byte, 100)
	for i := range count {
		binary.BigEndian.PutUint32(msg, uint32(i))
		_, _ = conn.WriteToUDP(msg, to) // a dropped datagram fails with EPERM: it is just lost
		<-tick.C
	}
	select {
	case n := <-got:
		fmt.Printf("replies %d\n", n)
	case <-time.After(pingLinger):
		_ = conn.SetReadDeadline(time.Now()) // ends collect
		fmt.Printf("replies %d\n", <-got)
	}
	return nil
}

// collect counts distinct replies until all count arrived or reading fails.
func collect(conn *net.UDPConn, count int) int {
	seen := make(map[uint32]bool, count)
	buf := make([]byte, 2048)
	for len(seen) < count {
		k, err := conn.Read(buf)
		if err != nil {
			break
		}
		if k >= 4 {
			seen[binary.BigEndian.Uint32(buf)] = true
		}
	}
	return len(seen)
}

// tcpSink answers each connection with the number of bytes it read before EOF.
func tcpSink(args []string) error {
	ln, err := net.Listen("tcp", args[0])
	if err != nil {
		return err
	}
	fmt.Println("ready")
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(ioTimeout))
			n, _ := io.Copy(io.Discard, c)
			fmt.Fprintf(c, "%d\n", n)
		}()
	}
}

// tcpSend sends BYTES bytes and prints them with the time from dialling to the sink's answer,
// which comes only once every byte has arrived.
func tcpSend(args []string) error {
	size, err := strconv.Atoi(args[1])
	if err != nil {
		return err
	}
	start := time.Now()
	c, err := net.DialTimeout("tcp", args[0], ioTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(start.Add(ioTimeout))
	if _, err := c.Write(make([]byte, size)); err != nil {
		return err
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return err
	}
	answer, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("no answer from the sink: %w", err)
	}
	elapsed := time.Since(start)
	if got := strings.TrimSpace(answer); got != strconv.Itoa(size) {
		return fmt.Errorf("sink read %s bytes, sent %d", got, size)
	}
	fmt.Printf("%d %d\n", size, elapsed.Nanoseconds())
	return nil
}

// server is a helper process serving inside a namespace until the test stops it.
type server struct {
	cmd    *exec.Cmd
	stdout io.ReadCloser
	stderr bytes.Buffer
	once   sync.Once
	rest   string // what it printed after "ready", once stopped
}

// startServer starts a helper with role at addr inside ns and waits until it listens. The
// server is killed at the end of the test if it is still running.
func startServer(t *testing.T, ns *NS, role, addr string) *server {
	t.Helper()
	s := &server{cmd: ns.Command(context.Background(), testBinary(t), addr)}
	s.cmd.Env = append(os.Environ(), helperVars(role)...)
	s.cmd.Stderr = &s.stderr
	var err error
	if s.stdout, err = s.cmd.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s in %s: %v", role, ns.Name(), err)
	}
	t.Cleanup(func() {
		s.kill()
		if t.Failed() {
			t.Logf("%s in %s: stderr:\n%s", role, ns.Name(), s.stderr.String())
		}
	})
	s.waitReady(t, role, ns)
	return s
}

// waitReady waits for the server's "ready" line.
func (s *server) waitReady(t *testing.T, role string, ns *NS) {
	t.Helper()
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(s.stdout).ReadString('\n') // "ready\n" is one write: nothing is buffered past it
		line <- l
	}()
	select {
	case l := <-line:
		if l != "ready\n" {
			s.kill()
			t.Fatalf("%s in %s did not start: %q\n%s", role, ns.Name(), l, s.stderr.String())
		}
	case <-time.After(readyWait):
		s.kill()
		t.Fatalf("%s in %s not ready after %v\n%s", role, ns.Name(), readyWait, s.stderr.String())
	}
}

// stop ends the server with SIGTERM and returns what it printed after "ready".
func (s *server) stop(t *testing.T) string {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("stop server: %v", err)
	}
	killer := time.AfterFunc(readyWait, func() { _ = s.cmd.Process.Kill() })
	defer killer.Stop()
	out, _ := io.ReadAll(s.stdout)
	s.once.Do(func() { _ = s.cmd.Wait() })
	if s.cmd.ProcessState == nil || !s.cmd.ProcessState.Success() {
		t.Fatalf("server did not stop cleanly on SIGTERM: %v\n%s", s.cmd.ProcessState, s.stderr.String())
	}
	return string(out)
}

// kill ends the server, if it still runs, and reaps it.
func (s *server) kill() {
	s.once.Do(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	})
}

// received stops a udp-echo server and returns how many datagrams reached it.
func (s *server) received(t *testing.T) int {
	t.Helper()
	out := s.stop(t)
	var n int
	if _, err := fmt.Sscanf(out, "received %d", &n); err != nil {
		t.Fatalf("udp-echo output %q: %v", out, err)
	}
	return n
}

// helper runs a client role inside ns to completion and returns its output.
func helper(t *testing.T, ns *NS, role string, args ...string) string {
	t.Helper()
	argv := append([]string{"env"}, helperVars(role)...)
	return ns.Run(t, append(append(argv, testBinary(t)), args...)...)
}

// helperVars are the environment settings of a helper process playing role. A race-enabled
// binary sleeps a second before it exits (GORACE atexit_sleep_ms), which would make every
// helper cost that much; the helpers keep the test's other GORACE settings.
func helperVars(role string) []string {
	return []string{helperEnv + "=" + role, "GORACE=" + os.Getenv("GORACE") + " atexit_sleep_ms=0"}
}

// ping sends count datagrams from ns to the udp-echo server at addr and returns how many
// replies came back.
func ping(t *testing.T, ns *NS, addr string, count int) int {
	t.Helper()
	out := helper(t, ns, "udp-ping", addr, strconv.Itoa(count))
	var n int
	if _, err := fmt.Sscanf(out, "replies %d", &n); err != nil {
		t.Fatalf("udp-ping output %q: %v", out, err)
	}
	return n
}

// sendTCP sends size bytes from ns to the tcp-sink at addr and returns the rate in kbit/s.
func sendTCP(t *testing.T, ns *NS, addr string, size int) float64 {
	t.Helper()
	out := helper(t, ns, "tcp-send", addr, strconv.Itoa(size))
	var n int
	var nanos int64
	if _, err := fmt.Sscanf(out, "%d %d", &n, &nanos); err != nil || nanos <= 0 {
		t.Fatalf("tcp-send output %q: %v", out, err)
	}
	return float64(n) * 8 / 1000 / time.Duration(nanos).Seconds()
}

// testBinary is the path of this test binary, which plays the helper roles.
func testBinary(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}
