package load

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the kernel's USER_HZ from getconf, or the usual 100 when unavailable.
func clockTicks() int64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if n, perr := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && perr == nil && n > 0 {
		return n
	}
	return 100
}

// procCPU returns utime+stime of a process ("self" or a pid) from /proc/<pid>/stat.
func procCPU(pid string, ticks int64) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrProc, err)
	}
	return parseStatCPU(b, ticks)
}

// parseStatCPU extracts utime+stime from the content of /proc/<pid>/stat. The command name
// (field 2) is in parentheses and may hold spaces, so fields are counted after the last ")":
// state is field 3, utime and stime are fields 14 and 15.
func parseStatCPU(b []byte, ticks int64) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("%w: stat without command name", ErrProc)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("%w: short stat line", ErrProc)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%w: stat times %q %q", ErrProc, f[11], f[12])
	}
	return time.Duration(utime+stime) * time.Second / time.Duration(ticks), nil
}

// procRSS returns VmRSS of a process in KiB from /proc/<pid>/status.
func procRSS(pid string) (int64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrProc, err)
	}
	return parseRSS(b)
}

func parseRSS(b []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "VmRSS:" {
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%w: VmRSS %q", ErrProc, f[1])
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("%w: no VmRSS", ErrProc)
}

// machineCPU returns the machine's total and idle (idle+iowait) jiffies from /proc/stat.
func machineCPU() (total, idle int64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrProc, err)
	}
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	f := strings.Fields(string(line))
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("%w: /proc/stat", ErrProc)
	}
	for i, s := range f[1:] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%w: /proc/stat field %q", ErrProc, s)
		}
		if i >= 8 { // guest times are already included in user and nice
			break
		}
		total += n
		if i == 3 || i == 4 {
			idle += n
		}
	}
	return total, idle, nil
}

// udpRcvbufErrors returns the kernel's count of UDP datagrams dropped because a socket's
// receive buffer was full (Udp: RcvbufErrors of /proc/net/snmp, for the whole network
// namespace).
func udpRcvbufErrors() (int64, error) {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrProc, err)
	}
	return parseRcvbufErrors(b)
}

func parseRcvbufErrors(b []byte) (int64, error) {
	var header []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if header == nil {
			header = f
			continue
		}
		for i, name := range header {
			if name == "RcvbufErrors" && i < len(f) {
				n, err := strconv.ParseInt(f[i], 10, 64)
				if err != nil {
					return 0, fmt.Errorf("%w: RcvbufErrors %q", ErrProc, f[i])
				}
				return n, nil
			}
		}
		break
	}
	return 0, fmt.Errorf("%w: no Udp RcvbufErrors in /proc/net/snmp", ErrProc)
}

// sample is one reading of the counters a measurement window compares.
type sample struct {
	wall        time.Time
	server      time.Duration // server CPU (0 without a pid)
	self        time.Duration // this process's CPU
	machine     int64         // machine jiffies
	machineIdle int64
	udpDrops    int64 // -1 when unknown
	packets     int64
	bytes       int64
}

// sampler reads the server's and this process's counters.
type sampler struct {
	pid   string // "" when the server is not observed
	ticks int64
}

func (s sampler) take(t *totals) (sample, error) {
	out := sample{wall: time.Now(), packets: t.packets.Load(), bytes: t.bytes.Load()}
	var err error
	if s.pid != "" {
		if out.server, err = procCPU(s.pid, s.ticks); err != nil {
			return out, err
		}
	}
	if out.self, err = procCPU("self", s.ticks); err != nil {
		return out, err
	}
	if out.udpDrops, err = udpRcvbufErrors(); err != nil {
		out.udpDrops = -1
	}
	out.machine, out.machineIdle, err = machineCPU()
	return out, err
}

// rss returns the server's VmRSS in KiB, 0 without a pid.
func (s sampler) rss() (int64, error) {
	if s.pid == "" {
		return 0, nil
	}
	return procRSS(s.pid)
}
