package netlab

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// toolNames are the commands a lab runs; New finds them all before it builds anything.
var toolNames = []string{"ip", "nsenter", "tc", "nft", "sleep", "sysctl"}

// sbinDirs are searched after PATH, which for some shells leaves out the sbin directories
// where ip, tc and nft live.
var sbinDirs = []string{"/usr/sbin", "/sbin"}

// Lab is a set of network namespaces built by one test and joined by veth pairs. New
// registers a cleanup that tears the whole lab down. Lab methods report failures to the test
// given to New, so call them from that test's goroutine; NS methods take the test to fail.
type Lab struct {
	t     testing.TB
	tools map[string]string // tool name → absolute path

	mu    sync.Mutex
	nss   []*NS
	links int // veth pairs made so far, numbering their device names
}

// New returns an empty lab and registers its teardown with t.Cleanup. It fails the test (never
// skips it) if the test is not root or a tool is missing: a lab test that skips itself would
// hide a broken CI machine.
func New(t testing.TB) *Lab {
	t.Helper()
	tools, err := preflight(os.Geteuid(), lookTool)
	if err != nil {
		t.Fatal(err)
	}
	l := &Lab{t: t, tools: tools}
	t.Cleanup(l.close)
	return l
}

// preflight checks the privileges and finds the tools a lab needs.
func preflight(euid int, look func(string) (string, error)) (map[string]string, error) {
	if euid != 0 {
		return nil, fmt.Errorf("%w; euid is %d", errNotRoot, euid)
	}
	tools := make(map[string]string, len(toolNames))
	var missing []string
	for _, name := range toolNames {
		p, err := look(name)
		if err != nil {
			missing = append(missing, name)
			continue
		}
		tools[name] = p
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s (install iproute2, nftables, util-linux, procps)",
			errMissingTool, strings.Join(missing, ", "))
	}
	return tools, nil
}

// lookTool finds a command in PATH or in the sbin directories.
func lookTool(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	for _, dir := range sbinDirs {
		if p, err2 := exec.LookPath(dir + "/" + name); err2 == nil {
			return p, nil
		}
	}
	return "", err
}

// Namespace starts a new network namespace with lo up and nothing else. The name is for
// messages only and must be unique in the lab.
func (l *Lab) Namespace(name string) *NS {
	l.t.Helper()
	// The holder is cloned straight into its new namespace, so the namespace exists as soon as
	// Start returns; Pdeathsig removes it if the test binary dies before the cleanup runs.
	holder := exec.Command(l.tools["sleep"], "infinity")
	holder.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	n := &NS{lab: l, name: name, holder: holder, loss: map[string]int{}}
	if err := l.add(n); err != nil {
		l.t.Fatal(err)
	}
	n.Run(l.t, l.tools["ip"], "link", "set", "lo", "up")
	return n
}

// add starts the holder of n and records it for the teardown.
func (l *Lab) add(n *NS) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, o := range l.nss {
		if o.name == n.name {
			return fmt.Errorf("netlab: namespace %q already exists in this lab", n.name)
		}
	}
	if err := n.holder.Start(); err != nil {
		return fmt.Errorf("netlab: namespace %q: start holder: %w", n.name, err)
	}
	l.nss = append(l.nss, n)
	return nil
}

// close kills every holder. A namespace dies with its last process, taking its devices
// (and so the peer end of every veth pair), qdiscs and nftables rules with it.
func (l *Lab) close() {
	l.mu.Lock()
	nss := l.nss
	l.nss = nil
	l.mu.Unlock()
	for _, n := range nss {
		_ = n.holder.Process.Kill()
		_ = n.holder.Wait() // "signal: killed" is the expected end
	}
}

// Link joins a and b with a veth pair and returns the names of its ends, aDev in a and bDev in
// b. Each end gets its address (CIDR form, such as "10.77.1.1/24"; "" leaves it without one)
// and is brought up. The ends are created directly inside the two namespaces, so their names
// only need to be unique in the lab, and nothing ever appears in the test's own namespace.
func (l *Lab) Link(a, b *NS, aAddr, bAddr string) (aDev, bDev string) {
	l.t.Helper()
	if err := l.checkLink(a, b, aAddr, bAddr); err != nil {
		l.t.Fatal(err)
	}
	l.mu.Lock()
	l.links++
	k := l.links
	l.mu.Unlock()
	aDev, bDev = fmt.Sprintf("nl%da", k), fmt.Sprintf("nl%db", k)
	a.Run(l.t, l.tools["ip"], "link", "add", aDev, "type", "veth",
		"peer", "name", bDev, "netns", strconv.Itoa(b.PID()))
	a.setUp(l.t, aDev, aAddr)
	b.setUp(l.t, bDev, bAddr)
	return aDev, bDev
}

// checkLink rejects a link that cannot be made, before anything is changed.
func (l *Lab) checkLink(a, b *NS, aAddr, bAddr string) error {
	if a == b {
		return fmt.Errorf("netlab: cannot link namespace %q to itself", a.name)
	}
	if a.lab != l || b.lab != l {
		return fmt.Errorf("netlab: link %s-%s: both namespaces must belong to this lab", a.name, b.name)
	}
	for _, addr := range []string{aAddr, bAddr} {
		if _, err := parseAddr(addr); err != nil {
			return fmt.Errorf("netlab: link %s-%s: %w", a.name, b.name, err)
		}
	}
	return nil
}

// parseAddr checks an interface address in CIDR form; "" means none.
func parseAddr(addr string) (netip.Prefix, error) {
	if addr == "" {
		return netip.Prefix{}, nil
	}
	p, err := netip.ParsePrefix(addr)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("address %q is not in CIDR form (like 10.77.1.1/24): %w", addr, err)
	}
	return p, nil
}
