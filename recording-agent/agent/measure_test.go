package agent

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
)

var measure = flag.Bool("recording.measure", false, "measure CPU and memory per VP8+Opus recording")

// cpuTime returns the process's user+system CPU time (/proc/self/stat, clock ticks of 10 ms).
func cpuTime(t *testing.T) time.Duration {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Skip("no /proc")
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// TestRecordingMeasure runs 10 simultaneous VP8+Opus recordings for 10 s and reports the CPU
// and heap they add over the publisher alone (go test -run Measure -recording.measure).
func TestRecordingMeasure(t *testing.T) {
	if !*measure {
		t.Skip("run with -recording.measure")
	}
	const n, d = 10, 10 * time.Second
	h := newHarness(t, Config{Capacity: n})
	h.publish(t, "pub", "video/VP8", "audio/opus", 0)
	sample := func() (time.Duration, uint64) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return cpuTime(t), ms.HeapAlloc
	}
	c0, _ := sample()
	time.Sleep(d)
	c1, m1 := sample()
	for i := range n {
		req := protocol.RecStart{ID: fmt.Sprintf("m%d", i), Container: "mkv", Video: track("pub-video", "vp8"), Audio: track("pub-audio", "opus")}
		if err := h.call(protocol.MethodRecStart, req, nil); err != nil {
			t.Fatal(err)
		}
	}
	c2, _ := sample()
	time.Sleep(d)
	c3, m3 := sample()
	for i := range n {
		if err := h.call(protocol.MethodRecStop, protocol.SessionStop{ID: fmt.Sprintf("m%d", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	base := float64(c1-c0) / float64(d)
	with := float64(c3-c2) / float64(d)
	t.Logf("publisher alone: %.2f%% CPU; with %d recordings: %.2f%% CPU → %.3f%% CPU and %d KiB heap per recording (~300 kb/s VP8 + 32 kb/s Opus)",
		base*100, n, with*100, (with-base)*100/n, (int64(m3)-int64(m1))/n/1024)
}
