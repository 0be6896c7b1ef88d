package load

import (
	"errors"
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name string
		stat string
		want time.Duration
		err  bool
	}{
		{"plain", "42 (conclave) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 1 1 1", 3 * time.Second, false},
		{"name with spaces and parens", "42 (a (b) c) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 1 1", 100 * time.Millisecond, false},
		{"no name", "42 conclave S", 0, true},
		{"short", "42 (x) S 1 2 3", 0, true},
		{"not numbers", "42 (x) S 1 42 42 0 -1 0 0 0 0 0 a b 0 0 20 0 1 0 1 1 1", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tt.stat), 100)
			if (err != nil) != tt.err || got != tt.want {
				t.Fatalf("got %v, %v; want %v (error %v)", got, err, tt.want, tt.err)
			}
			if err != nil && !errors.Is(err, ErrProc) {
				t.Fatalf("error %v is not ErrProc", err)
			}
		})
	}
}

func TestParseRSS(t *testing.T) {
	got, err := parseRSS([]byte("Name:\tconclave\nVmPeak:\t 9000 kB\nVmRSS:\t   12345 kB\nThreads: 9\n"))
	if err != nil || got != 12345 {
		t.Fatalf("got %d, %v", got, err)
	}
	if _, err := parseRSS([]byte("Name: x\n")); !errors.Is(err, ErrProc) {
		t.Fatalf("missing VmRSS: %v", err)
	}
}

func TestProcSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if _, err := procCPU("self", clockTicks()); err != nil {
		t.Fatal(err)
	}
	if n, err := procRSS("self"); err != nil || n <= 0 {
		t.Fatalf("rss %d, %v", n, err)
	}
	total, idle, err := machineCPU()
	if err != nil || total <= 0 || idle < 0 || idle > total {
		t.Fatalf("machine %d %d %v", total, idle, err)
	}
}

func TestParseRcvbufErrors(t *testing.T) {
	snmp := "Ip: Forwarding DefaultTTL\nIp: 1 64\n" +
		"Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\nUdp: 100 2 7 90 5 0\n" +
		"UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\nUdpLite: 0 0 0 0 9 0\n"
	if n, err := parseRcvbufErrors([]byte(snmp)); err != nil || n != 5 {
		t.Fatalf("got %d, %v", n, err)
	}
	if _, err := parseRcvbufErrors([]byte("Ip: a\nIp: 1\n")); !errors.Is(err, ErrProc) {
		t.Fatalf("missing: %v", err)
	}
}
