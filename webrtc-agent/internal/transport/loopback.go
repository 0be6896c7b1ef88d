package transport

import (
	"log/slog"
	"net"
)

// hostInterface is what loopback detection needs to know of one network interface.
type hostInterface struct {
	name  string
	flags net.Flags
	ips   []net.IP
}

// hostInterfaces lists the machine's interfaces with their addresses.
func hostInterfaces() ([]hostInterface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	out := make([]hostInterface, 0, len(ifs))
	for _, ifc := range ifs {
		addrs, err := ifc.Addrs()
		if err != nil {
			return nil, err
		}
		h := hostInterface{name: ifc.Name, flags: ifc.Flags}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				h.ips = append(h.ips, n.IP)
			}
		}
		out = append(out, h)
	}
	return out, nil
}

// onlyLoopback reports whether no interface but loopback could carry media: none that is up,
// not loopback, and has an address gathering keeps (usableIP).
func onlyLoopback(ifs []hostInterface) bool {
	for _, ifc := range ifs {
		if ifc.flags&net.FlagUp == 0 || ifc.flags&net.FlagLoopback != 0 {
			continue
		}
		for _, ip := range ifc.ips {
			if usableIP(ip) && !ip.IsLoopback() {
				return false
			}
		}
	}
	return true
}

// loopbackFallback turns loopback candidates on when the configuration leaves gathering to
// the machine (no interfaces listed, loopback off) and the machine has nothing but loopback:
// a single-host trial or a loopback-only network namespace would otherwise offer clients no
// candidate at all, and every connection would fail without saying why.
func loopbackFallback(cfg NetConfig, ifs []hostInterface, log *slog.Logger) NetConfig {
	if cfg.IncludeLoopback || len(cfg.Interfaces) > 0 || !onlyLoopback(ifs) {
		return cfg
	}
	log.Info("no network interface but loopback: gathering loopback candidates (webrtc.includeLoopback)")
	cfg.IncludeLoopback = true
	return cfg
}
