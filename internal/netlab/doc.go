// Package netlab builds small emulated networks for tests: Linux network namespaces joined by
// veth pairs, with bandwidth caps, blocked UDP and random loss that a test can change while
// it runs. End-to-end tests use it for TURN with UDP blocked, capped or lossy paths; it is
// for tests only.
//
// # The lab model
//
// A Lab belongs to one test. Each of its namespaces (an NS) is held open by a holder process,
// `sleep infinity` cloned straight into a new network namespace, and is named by that
// process's PID: commands run inside it through `nsenter -t PID -n --` (NS.Command, NS.Run,
// NS.Args), and veth ends are created directly inside it. Nothing gets a global name, as
// `ip netns add` would give with its bind mounts under /run/netns, so the labs of tests
// running at the same time cannot collide. When the test ends, the cleanup New registers
// kills the holders, and each namespace disappears with its last process, taking its
// devices (so both ends of its veth pairs), qdiscs and nftables rules with it; if the test
// binary dies first, Pdeathsig kills the holders. A process the test started inside a
// namespace keeps it alive until it exits, so stop such processes in the test (cleanups run
// last registered first, so one registered after New runs before the lab's).
//
// Lab.Link joins two namespaces with a veth pair. A namespace with two links and
// NS.EnableForwarding is a router, and NS.Route gives hosts their routes through it.
//
// # Impairments
//
//   - NS.Shape puts a token bucket filter (tbf) at the root of a device: a rate cap on what
//     leaves it and, through the queue length, a queueing delay. NS.Unshape removes it.
//   - NS.DropUDP drops all UDP entering or leaving the namespace, forwarded packets included,
//     except on lo: a firewall that only lets TCP through. NS.AllowUDP undoes it.
//   - NS.Loss drops a random share of the packets that leave the namespace (sent or
//     forwarded) and match an nftables expression.
//
// The nftables rules live in a table of the namespace's own, inet netlab, with one base
// chain per feature; every change rewrites the chains of its feature in a single nft
// transaction, so changes mid-test are atomic and leave the other features alone. A local
// sender whose packet is dropped this way sees EPERM from its send, as it would behind a
// local firewall.
//
// The kernel of our test machines has no netem (sch_netem), so there is no fixed added delay,
// jitter or reordering: a test that needs them adds them in user space.
//
// # Rules
//
// Creating namespaces, links, qdiscs and rules needs root. New fails the test, never skips
// it, when the test is not root or a tool (ip, nsenter, tc, nft, sleep, sysctl) is missing,
// so that a broken CI machine shows up as a failure. Tests run inside `unshare -n`, a network
// namespace with only lo, so that no traffic can reach a real network. The lab never changes
// the namespace the test itself runs in, and test traffic goes only to loopback or to the
// addresses of the lab's own namespaces, taken from a private range (our tests use
// 10.77.0.0/16 and fd77::/64).
package netlab
