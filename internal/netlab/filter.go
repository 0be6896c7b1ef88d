package netlab

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// table is the nftables table each namespace keeps its rules in. One base chain per feature
// lets each feature be rewritten, atomically, without touching the others.
const table = "inet netlab"

// chain is a base chain of the table.
type chain struct{ name, hook string }

// The chains: UDP blocking drops on the way in (prerouting, so forwarded packets too) and on
// the way out (postrouting, packets sent or forwarded); loss applies on the way out.
var (
	blockIn  = chain{"block_in", "prerouting"}
	blockOut = chain{"block_out", "postrouting"}
	lossOut  = chain{"loss", "postrouting"}
)

// script returns the nft commands that create c if needed and set its rules to rules.
func (c chain) script(rules ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "add table %s\n", table)
	fmt.Fprintf(&b, "add chain %s %s { type filter hook %s priority 0; policy accept; }\n", table, c.name, c.hook)
	fmt.Fprintf(&b, "flush chain %s %s\n", table, c.name)
	for _, r := range rules {
		fmt.Fprintf(&b, "add rule %s %s %s\n", table, c.name, r)
	}
	return b.String()
}

// nft runs an nft script inside the namespace as one transaction.
func (n *NS) nft(t testing.TB, script string) {
	t.Helper()
	n.run(t, script, n.lab.tools["nft"], "-f", "-")
}

// DropUDP drops every UDP packet that enters or leaves the namespace, forwarded ones
// included, except on lo: a firewall that lets only TCP through, as on networks where WebRTC
// needs TURN over TCP or TLS. A local sender's send fails with EPERM.
func (n *NS) DropUDP(t testing.TB) {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nft(t, blockIn.script(`iifname != "lo" meta l4proto udp drop`)+
		blockOut.script(`oifname != "lo" meta l4proto udp drop`))
}

// AllowUDP undoes DropUDP; it does nothing if UDP is not blocked.
func (n *NS) AllowUDP(t testing.TB) {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nft(t, blockIn.script()+blockOut.script())
}

// Loss drops, at random, percent % of the packets that leave the namespace (sent by it or
// forwarded through it, never on lo) and match the nftables expression match, such as
// "udp dport 40000" or "meta l4proto udp". Calling it again with the same match changes the
// percentage, and percent 0 removes it. Rules with different matches add up: a packet that
// matches two of them faces both. A local sender's send of a dropped packet fails with EPERM.
func (n *NS) Loss(t testing.TB, percent int, match string) {
	t.Helper()
	if percent < 0 || percent > 100 {
		t.Fatalf("netlab: Loss in %q: percentage %d is not in 0..100", n.name, percent)
	}
	if strings.TrimSpace(match) == "" || strings.ContainsAny(match, ";\n") {
		t.Fatalf("netlab: Loss in %q: match %q must be one nft expression", n.name, match)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	loss := maps.Clone(n.loss)
	if percent == 0 {
		delete(loss, match)
	} else {
		loss[match] = percent
	}
	n.nft(t, lossOut.script(lossRules(loss)...))
	n.loss = loss // only once the kernel has it, so that a failed change leaves no trace
}

// lossRules returns the rules for loss, in a stable order.
func lossRules(loss map[string]int) []string {
	rules := make([]string, 0, len(loss))
	for _, match := range slices.Sorted(maps.Keys(loss)) {
		random := fmt.Sprintf("numgen random mod 100 lt %d ", loss[match])
		if loss[match] == 100 {
			random = "" // nft refuses "lt 100" after "mod 100"
		}
		rules = append(rules, fmt.Sprintf(`oifname != "lo" %s %sdrop`, match, random))
	}
	return rules
}
