package netlab

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Shape caps what leaves dev, a device of the namespace, with a token bucket filter (tbf) as
// its root qdisc: rateKbit is the rate in kbit/s, burstBytes the bucket size (at least the
// device's MTU plus its link header, 1514 bytes on a veth, or larger packets never leave) and
// latency the longest a packet may wait in the queue, which sets the queue's length. Calling
// it again changes the shaping in place. This kernel has no netem, so there is no fixed
// delay or jitter: a test that needs them must add them in user space.
func (n *NS) Shape(t testing.TB, dev string, rateKbit, burstBytes int, latency time.Duration) {
	t.Helper()
	if rateKbit <= 0 || burstBytes <= 0 || latency < time.Microsecond {
		t.Fatalf("netlab: Shape %s in %q: rate %d kbit/s, burst %d bytes and latency %v must be positive",
			dev, n.name, rateKbit, burstBytes, latency)
	}
	n.Run(t, n.lab.tools["tc"], "qdisc", "replace", "dev", dev, "root", "tbf",
		"rate", fmt.Sprintf("%dkbit", rateKbit), "burst", strconv.Itoa(burstBytes),
		"latency", fmt.Sprintf("%dus", latency.Microseconds()))
}

// Unshape removes the root qdisc of dev, giving it back its default; it does nothing if dev
// has the default already.
func (n *NS) Unshape(t testing.TB, dev string) {
	t.Helper()
	tc := n.lab.tools["tc"]
	if isDefaultQdisc(n.Run(t, tc, "qdisc", "show", "dev", dev, "root")) {
		return
	}
	n.Run(t, tc, "qdisc", "del", "dev", dev, "root")
}

// isDefaultQdisc tells whether `tc qdisc show dev X root` shows the qdisc the kernel gave the
// device, whose handle is 0: (as in "qdisc noqueue 0: root refcnt 2").
func isDefaultQdisc(show string) bool {
	f := strings.Fields(show)
	return len(f) >= 3 && f[0] == "qdisc" && f[2] == "0:"
}
