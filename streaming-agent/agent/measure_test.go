package agent

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
)

// cpuTicks returns utime+stime (clock ticks, 100 Hz) of a process from /proc/<pid>/stat.
func cpuTicks(t *testing.T, pid string) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return u + k
}

// rssKB returns VmRSS of a process.
func rssKB(t *testing.T, pid string) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// TestStreamingOutMeasure reports CPU and memory of one streaming-out (ffmpeg child, and
// this whole test process, which also runs the fake source) over 10 s. It runs only with
// CONCLAVE_STREAMING_MEASURE=1.
func TestStreamingOutMeasure(t *testing.T) {
	if os.Getenv("CONCLAVE_STREAMING_MEASURE") == "" {
		t.Skip("set CONCLAVE_STREAMING_MEASURE=1 to measure")
	}
	const window = 10 * time.Second
	for _, video := range []string{"h264", "vp8"} {
		t.Run(video, func(t *testing.T) {
			e := newOutEnv(t, testConfig(t))
			ng := startNginx(t)
			if err := e.call(protocol.MethodOutStart, e.outStart("m", "rtmp", ng.url("m"), video, "opus"), nil); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Second) // past ffmpeg's start-up
			pids := e.agent.PIDs()
			if len(pids) != 1 {
				t.Fatalf("pids %v", pids)
			}
			ff, self := strconv.Itoa(pids[0]), strconv.Itoa(os.Getpid())
			f0, s0 := cpuTicks(t, ff), cpuTicks(t, self)
			time.Sleep(window)
			f1, s1 := cpuTicks(t, ff), cpuTicks(t, self)
			secs := window.Seconds()
			t.Logf("%s 320x240@30 + opus → rtmp: ffmpeg %.1f%% of a core, RSS %d MB; test process (agent + fake source, -race) %.1f%% of a core, RSS %d MB",
				video, float64(f1-f0)/secs, rssKB(t, ff)/1024, float64(s1-s0)/secs, rssKB(t, self)/1024)
			if err := e.call(protocol.MethodOutStop, protocol.SessionStop{ID: "m"}, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}
