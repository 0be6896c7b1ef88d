package netlab

import "errors"

// Errors of the lab's preflight check; New reports them through t.Fatal.
var (
	// errNotRoot means the test does not run as root, which creating namespaces, veth pairs,
	// qdiscs and nftables rules needs.
	errNotRoot = errors.New("netlab: needs root (run the tests as root inside `unshare -n`)")
	// errMissingTool means a command the lab runs is not installed.
	errMissingTool = errors.New("netlab: missing tools")
)
