package load

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Report is the outcome of a run.
type Report struct {
	Config Config `json:"config"`

	PublishersJoined  int `json:"publishersJoined"`
	SubscribersJoined int `json:"subscribersJoined"`
	// Subscriptions counts the subscriptions that delivered their first frame.
	Subscriptions     int     `json:"subscriptions"`
	RecordingsStarted int     `json:"recordingsStarted"`
	JoinPhaseSeconds  float64 `json:"joinPhaseSeconds"`

	JoinLatency    LatencySummary `json:"joinLatency"`    // token → first frame, per subscription
	PublishLatency LatencySummary `json:"publishLatency"` // token → publication announced
	MeshLatency    LatencySummary `json:"meshLatency"`    // publishers' subscribe → first frame

	Packets     int64 `json:"packets"` // RTP packets received by every subscription
	Bytes       int64 `json:"bytes"`
	Lost        int64 `json:"lost"`    // sequence numbers never received
	Freezes     int64 `json:"freezes"` // pauses > FreezeGap between decoded video frames
	VideoFrames int64 `json:"videoFrames"`
	// CandidatePairs counts the ICE candidate pairs (local/remote type, e.g. "relay/host")
	// the publications and subscriptions connected over.
	CandidatePairs map[string]int `json:"candidatePairs"`

	Errors       map[string]int    `json:"errors"` // by kind
	ErrorCount   int               `json:"errorCount"`
	ErrorSamples map[string]string `json:"errorSamples"` // the first message of each kind

	Window Window      `json:"window"`
	Server ServerStats `json:"server"`
}

// Window are the figures of the steady-state window (all participants joined).
type Window struct {
	Seconds          float64 `json:"seconds"`
	Packets          int64   `json:"packets"` // received by the subscriptions = forwarded by the server
	PacketsPerSecond float64 `json:"packetsPerSecond"`
	AvgPacketBytes   float64 `json:"avgPacketBytes"`
	// Server figures; zero without -server-pid.
	ServerCPUSeconds          float64 `json:"serverCpuSeconds"`
	ServerCPUPercent          float64 `json:"serverCpuPercent"`
	PacketsPerServerCPUSecond float64 `json:"packetsPerServerCpuSecond"`
	ServerCPUMicrosPerPacket  float64 `json:"serverCpuMicrosPerPacket"`
	// The load generator's own CPU and the machine's idle time, to spot saturation.
	LoadCPUPercent     float64 `json:"loadCpuPercent"`
	MachineIdlePercent float64 `json:"machineIdlePercent"`
	// UDPReceiveDrops are datagrams the kernel dropped for full socket receive buffers during
	// the window, machine-wide (on loopback, mostly the load generator's sockets when it
	// cannot keep up); -1 when unknown.
	UDPReceiveDrops int64 `json:"udpReceiveDrops"`
}

// ServerStats is the server's memory (VmRSS), zero without -server-pid.
type ServerStats struct {
	RSSStartKiB             int64   `json:"rssStartKiB"`
	RSSBeforeSubscribersKiB int64   `json:"rssBeforeSubscribersKiB"`
	RSSSteadyKiB            int64   `json:"rssSteadyKiB"`
	LiveSubscriptions       int     `json:"liveSubscriptions"`
	KiBPerSubscription      float64 `json:"kibPerSubscription"`
}

// measure waits for the warm-up, then measures the steady-state window.
func (r *runner) measure(ctx context.Context, rep *Report) error {
	if r.cfg.Duration == 0 {
		return nil
	}
	r.phase.Store("warmup")
	sleepCtx(ctx, r.cfg.Warmup)
	r.phase.Store("measuring")
	s0, err := r.smp.take(&r.tot)
	if err != nil {
		return err
	}
	sleepCtx(ctx, r.cfg.Duration)
	s1, err := r.smp.take(&r.tot)
	if err != nil {
		return err
	}
	rep.Window = window(s0, s1)
	if rep.Server.RSSSteadyKiB, err = r.smp.rss(); err != nil {
		return err
	}
	r.mu.Lock()
	for _, m := range r.members {
		for _, s := range m.subs {
			if s.sub != nil {
				rep.Server.LiveSubscriptions++
			}
		}
	}
	r.mu.Unlock()
	if n := rep.Server.LiveSubscriptions; n > 0 && r.smp.pid != "" {
		rep.Server.KiBPerSubscription = round1(float64(rep.Server.RSSSteadyKiB-rep.Server.RSSBeforeSubscribersKiB) / float64(n))
	}
	return nil
}

// window derives the window figures from two samples.
func window(s0, s1 sample) Window {
	secs := s1.wall.Sub(s0.wall).Seconds()
	w := Window{Seconds: round1(secs), Packets: s1.packets - s0.packets}
	if secs <= 0 {
		return w
	}
	w.PacketsPerSecond = round1(float64(w.Packets) / secs)
	if w.Packets > 0 {
		w.AvgPacketBytes = round1(float64(s1.bytes-s0.bytes) / float64(w.Packets))
	}
	cpu := (s1.server - s0.server).Seconds()
	w.ServerCPUSeconds = round1(cpu*100) / 100
	w.ServerCPUPercent = round1(100 * cpu / secs)
	if cpu > 0 && w.Packets > 0 {
		w.PacketsPerServerCPUSecond = round1(float64(w.Packets) / cpu)
		w.ServerCPUMicrosPerPacket = round1(cpu*1e6/float64(w.Packets)*10) / 10
	}
	w.LoadCPUPercent = round1(100 * (s1.self - s0.self).Seconds() / secs)
	w.UDPReceiveDrops = -1
	if s0.udpDrops >= 0 && s1.udpDrops >= 0 {
		w.UDPReceiveDrops = s1.udpDrops - s0.udpDrops
	}
	if total := s1.machine - s0.machine; total > 0 {
		w.MachineIdlePercent = round1(100 * float64(s1.machineIdle-s0.machineIdle) / float64(total))
	}
	return w
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }

// collect adds a member's final track counts to the totals of the report (once per member).
func (r *runner) collect(m *member) {
	now := time.Now()
	var lost, freezes int64
	for _, s := range m.subs {
		for _, t := range s.trackList() {
			res := t.result(now)
			lost += res.lost
			freezes += res.freezes
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lost += lost
	r.freezes += freezes
}

// finish fills the totals of the report, before the cleanup.
func (r *runner) finish(rep *Report) {
	r.mu.Lock()
	members := append([]*member(nil), r.members...)
	r.mu.Unlock()
	for _, m := range members {
		r.collect(m)
	}
	r.mu.Lock()
	rep.Lost, rep.Freezes, rep.Subscriptions = r.lost, r.freezes, r.subsOK
	rep.CandidatePairs = maps.Clone(r.pairs)
	r.mu.Unlock()
	rep.PublishersJoined = int(r.tot.pubsJoined.Load())
	rep.SubscribersJoined = int(r.tot.subsJoined.Load())
	rep.Subscriptions += int(r.meshSubs.Load())
	rep.JoinLatency, rep.PublishLatency, rep.MeshLatency = r.joinLat.summary(), r.publishLat.summary(), r.meshLat.summary()
	rep.Packets, rep.Bytes, rep.VideoFrames = r.tot.packets.Load(), r.tot.bytes.Load(), r.tot.videoFrames.Load()
	rep.Errors, rep.ErrorSamples, rep.ErrorCount = r.errs.snapshot()
}

// WriteText prints the report for people.
func (rep *Report) WriteText(w io.Writer) {
	c := rep.Config
	fmt.Fprintf(w, "rooms %d × (%d publishers + %d subscribers), video %s, audio %s, join rate %g/s\n",
		c.Rooms, c.Publishers, c.Subscribers, c.Video, c.Audio, c.JoinRate)
	fmt.Fprintf(w, "joined: %d publishers, %d subscribers, %d subscriptions, %d recordings (join phase %.1fs)\n",
		rep.PublishersJoined, rep.SubscribersJoined, rep.Subscriptions, rep.RecordingsStarted, rep.JoinPhaseSeconds)
	for _, l := range []struct {
		name string
		s    LatencySummary
	}{{"join (token → first frame)", rep.JoinLatency}, {"publish (token → announced)", rep.PublishLatency}, {"mesh subscribe → first frame", rep.MeshLatency}} {
		if l.s.N > 0 {
			fmt.Fprintf(w, "%-30s n %d  p50 %.1fms  p95 %.1fms  p99 %.1fms  max %.1fms\n", l.name, l.s.N, l.s.P50, l.s.P95, l.s.P99, l.s.Max)
		}
	}
	fmt.Fprintf(w, "packets %d (%d bytes), lost %d, video frames %d, freezes %d\n", rep.Packets, rep.Bytes, rep.Lost, rep.VideoFrames, rep.Freezes)
	if len(rep.CandidatePairs) > 0 {
		var pairs []string
		for _, k := range slices.Sorted(maps.Keys(rep.CandidatePairs)) {
			pairs = append(pairs, fmt.Sprintf("%s %d", k, rep.CandidatePairs[k]))
		}
		fmt.Fprintf(w, "ICE candidate pairs (local/remote): %s\n", strings.Join(pairs, ", "))
	}
	if rep.Window.Seconds > 0 {
		win := rep.Window
		fmt.Fprintf(w, "window %.1fs: %d packets (%.0f/s, %.0f B avg); load generator CPU %.0f%%, machine idle %.0f%%, UDP receive-buffer drops %d\n",
			win.Seconds, win.Packets, win.PacketsPerSecond, win.AvgPacketBytes, win.LoadCPUPercent, win.MachineIdlePercent, win.UDPReceiveDrops)
		if c.ServerPID > 0 {
			fmt.Fprintf(w, "server: CPU %.2fs (%.0f%%), %.0f packets per CPU-second, %.1f µs per packet; RSS %d → %d KiB, %.1f KiB per subscription (%d live)\n",
				win.ServerCPUSeconds, win.ServerCPUPercent, win.PacketsPerServerCPUSecond, win.ServerCPUMicrosPerPacket,
				rep.Server.RSSBeforeSubscribersKiB, rep.Server.RSSSteadyKiB, rep.Server.KiBPerSubscription, rep.Server.LiveSubscriptions)
		}
	}
	fmt.Fprintf(w, "errors: %d\n", rep.ErrorCount)
	for _, k := range slices.Sorted(maps.Keys(rep.Errors)) {
		fmt.Fprintf(w, "  %-20s %d  (first: %s)\n", k, rep.Errors[k], strings.TrimSpace(rep.ErrorSamples[k]))
	}
}
