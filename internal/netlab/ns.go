package netlab

import (
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// runTimeout bounds every command Run starts, so that a stuck tool fails the test instead of
// hanging it.
const runTimeout = 30 * time.Second

// NS is one network namespace of a lab, held open by a holder process and addressed by that
// process's PID.
type NS struct {
	lab    *Lab
	name   string
	holder *exec.Cmd

	mu   sync.Mutex     // serialises the namespace's nftables changes
	loss map[string]int // nft match → drop percentage, as installed
}

// Name returns the name given to Lab.Namespace.
func (n *NS) Name() string { return n.name }

// PID returns the PID of the holder process, which names the namespace for nsenter and for
// `ip link set <dev> netns <pid>`.
func (n *NS) PID() int { return n.holder.Process.Pid }

// Args returns the command line that runs name with args inside the namespace, for process
// harnesses that take a binary and arguments rather than an exec.Cmd. nsenter does not fork
// when it enters only a network namespace, so the started process is the program itself and
// signals sent to it reach the program.
func (n *NS) Args(name string, args ...string) []string {
	return append([]string{n.lab.tools["nsenter"], "-t", strconv.Itoa(n.PID()), "-n", "--", name}, args...)
}

// Command returns a command that runs name with args inside the namespace. It is killed when
// ctx ends, and, through Pdeathsig, if the test binary dies (replace SysProcAttr to change
// that). A started process keeps the namespace alive: stop it before the test ends.
func (n *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	argv := n.Args(name, args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Run runs args[0] with the rest of args inside the namespace and returns its standard
// output. It fails the test, showing the command's output, if the command fails or runs for
// more than 30 s.
func (n *NS) Run(t testing.TB, args ...string) string {
	t.Helper()
	return n.run(t, "", args...)
}

// run is Run with a standard input.
func (n *NS) run(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	if len(args) == 0 {
		t.Fatalf("netlab: Run in namespace %q: no command", n.name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := n.Command(ctx, args[0], args[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		t.Fatalf("netlab: in namespace %q: %s: %v\n%s%s", n.name, strings.Join(args, " "), err,
			stdout.String(), stderr.String())
	}
	return stdout.String()
}

// setUp gives dev its address, if any, and brings it up, in one ip batch.
func (n *NS) setUp(t testing.TB, dev, addr string) {
	t.Helper()
	var batch strings.Builder
	if addr != "" {
		batch.WriteString("addr add " + addr + " dev " + dev)
		if p, _ := parseAddr(addr); p.Addr().Is6() {
			// Without nodad an IPv6 address stays tentative, and unusable, for about a second.
			batch.WriteString(" nodad")
		}
		batch.WriteString("\n")
	}
	batch.WriteString("link set " + dev + " up\n")
	n.run(t, batch.String(), n.lab.tools["ip"], "-batch", "-")
}

// Route adds, or replaces, the route to dst ("10.77.2.0/24", "default") through the gateway
// via, which must be on one of the namespace's links.
func (n *NS) Route(t testing.TB, dst, via string) {
	t.Helper()
	n.Run(t, n.lab.tools["ip"], "route", "replace", dst, "via", via)
}

// EnableForwarding makes the namespace a router: it forwards IPv4 and IPv6 packets between
// its links.
func (n *NS) EnableForwarding(t testing.TB) {
	t.Helper()
	n.Run(t, n.lab.tools["sysctl"], "-q", "-w", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
}
