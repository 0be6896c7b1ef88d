package e2e

// Measurements of the all-in-one binary. They print figures and assert only that the media
// flowed: performance is measured, not asserted. Run bigger figures with, e.g.,
//
//	CONCLAVE_MEASURE_JOINS=50 CONCLAVE_MEASURE_CONCURRENT=25 \
//	CONCLAVE_MEASURE_SUBSCRIBERS=20 CONCLAVE_MEASURE_SECONDS=10 \
//	go test -count=1 -run Measure -v ./e2e/
//
// (without -race, the binaries under test are built without the race detector too).

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	rtc "github.com/conclave-rtc/conclave/client"
	"github.com/conclave-rtc/conclave/client/media"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/internal/e2eutil"
	"github.com/conclave-rtc/conclave/internal/e2eutil/participant"
	"github.com/pion/webrtc/v4"
)

// measureRoom is an all-in-one server with a room where one participant publishes the VP8
// and Opus clips.
type measureRoom struct {
	srv    rtServer
	roomID string
	stream string // the publication's id
}

func startMeasureRoom(ctx context.Context, t *testing.T) measureRoom {
	t.Helper()
	srv := startRealtimeAllInOne(t)
	roomID := srv.api.CreateRoom(t, "measure")
	pubc, _ := participant.JoinReady(ctx, t, func() string { return srv.api.MustToken(t, roomID, "publisher", "presenter", "") }, loopbackClient)
	pub, err := pubc.Publish(ctx, participant.ClipTracks(t, webrtc.MimeTypeVP8), rtc.PublishOptions{})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	// Streams are announced to their publisher too: once it knows, joiners get it at login.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := pubc.Stream(pub.ID()); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the publication was not announced")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return measureRoom{srv: srv, roomID: roomID, stream: pub.ID()}
}

// token creates a subscriber's token.
func (m measureRoom) token(t *testing.T, user string) string {
	t.Helper()
	return m.srv.api.MustToken(t, m.roomID, user, "presenter", "")
}

// joinPhases are the times from "token in hand" to the end of each step of a subscriber's
// start.
type joinPhases struct {
	joined      time.Duration // login answered
	subscribed  time.Duration // the server reported the subscription ready
	firstAudio  time.Duration // first audio RTP packet
	firstPacket time.Duration // first video RTP packet
	firstFrame  time.Duration // first decodable video frame
}

// timeToFirstFrame joins with token, subscribes the room's publication and times the steps
// up to the first decodable video frame; it returns the joined client.
func timeToFirstFrame(ctx context.Context, token, streamID string) (joinPhases, *rtc.Client, error) {
	var ph joinPhases
	t0 := time.Now()
	c, info, err := rtc.Join(ctx, token, loopbackClient)
	if err != nil {
		return ph, nil, fmt.Errorf("join: %w", err)
	}
	ph.joined = time.Since(t0)
	i := slices.IndexFunc(info.Room.Streams, func(s protocol.StreamInfo) bool { return s.ID == streamID })
	if i < 0 {
		return ph, c, fmt.Errorf("stream %s not in the login result", streamID)
	}
	video, err := media.NewFrameCounter(webrtc.MimeTypeVP8)
	if err != nil {
		return ph, c, err
	}
	var firstPacket, firstAudio atomic.Int64
	onTrack := func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if tr.Kind() != webrtc.RTPCodecTypeVideo {
				firstAudio.CompareAndSwap(0, int64(time.Since(t0)))
				continue
			}
			firstPacket.CompareAndSwap(0, int64(time.Since(t0)))
			video.Push(p)
		}
	}
	if _, err := c.Subscribe(ctx, info.Room.Streams[i], rtc.SubscribeOptions{OnTrack: onTrack}); err != nil {
		return ph, c, fmt.Errorf("subscribe: %w", err)
	}
	ph.subscribed = time.Since(t0)
	if err := video.WaitDecodable(ctx, 1); err != nil {
		return ph, c, err
	}
	ph.firstFrame = time.Since(t0)
	ph.firstPacket = time.Duration(firstPacket.Load())
	ph.firstAudio = time.Duration(firstAudio.Load())
	return ph, c, nil
}

// leave logs the clients out in parallel.
func leave(clients []*rtc.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, c := range clients {
		if c != nil {
			wg.Go(func() { _ = c.Leave(ctx) })
		}
	}
	wg.Wait()
}

func TestE2EMeasureJoinLatency(t *testing.T) {
	n := e2eutil.EnvInt(t, "CONCLAVE_MEASURE_JOINS", 5)
	batch := e2eutil.EnvInt(t, "CONCLAVE_MEASURE_CONCURRENT", max(1, n/2))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	room := startMeasureRoom(ctx, t)

	// Sequential: each subscriber leaves before the next joins. Each arrives at a random
	// point of the publisher's keyframe interval (the clip has a keyframe every second; it
	// also answers the SFU's PLI with one, throttled by the SFU and the source), so the loop
	// does not phase-lock to the keyframes.
	var seq []joinPhases
	seqStart := time.Now()
	for i := range n {
		time.Sleep(time.Duration(rand.Int64N(int64(time.Second))))
		tok := room.token(t, fmt.Sprintf("seq-%d", i))
		ph, c, err := timeToFirstFrame(ctx, tok, room.stream)
		leave([]*rtc.Client{c})
		if err != nil {
			t.Fatalf("sequential subscriber %d: %v", i, err)
		}
		seq = append(seq, ph)
	}

	seqWall := time.Since(seqStart)

	// Concurrent: the whole batch starts at once (at a random point of the keyframe
	// interval) and stays until every one has its frame.
	time.Sleep(time.Duration(rand.Int64N(int64(time.Second))))
	concStart := time.Now()
	tokens := make([]string, batch)
	for i := range tokens {
		tokens[i] = room.token(t, fmt.Sprintf("batch-%d", i))
	}
	conc := make([]joinPhases, batch)
	clients := make([]*rtc.Client, batch)
	errs := make([]error, batch)
	var wg sync.WaitGroup
	for i := range batch {
		wg.Go(func() { conc[i], clients[i], errs[i] = timeToFirstFrame(ctx, tokens[i], room.stream) })
	}
	wg.Wait()
	concWall := time.Since(concStart)
	leaveStart := time.Now()
	leave(clients)
	leaveWall := time.Since(leaveStart)
	var ok []joinPhases
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent subscriber %d: %v", i, err)
			continue
		}
		ok = append(ok, conc[i])
	}
	t.Logf("join latency: from token in hand to the end of each step (race detector: %v)\n%s"+
		"wall time: sequential loop %s (incl. random arrival delays and leaves), concurrent batch %s, its leave %s",
		e2eutil.RaceEnabled, latencyTable([]latencyRun{{"sequential", seq}, {fmt.Sprintf("concurrent (batch %d)", batch), ok}}),
		seqWall.Round(time.Millisecond), concWall.Round(time.Millisecond), leaveWall.Round(time.Millisecond))
}

// latencyRun is a named set of measurements.
type latencyRun struct {
	name string
	runs []joinPhases
}

// latencyTable formats the distribution of every step of every run.
func latencyTable(runs []latencyRun) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-22s %-20s %5s %9s %9s %9s %9s %9s\n", "run", "step", "n", "p50", "p95", "p99", "max", "mean")
	steps := []struct {
		name string
		get  func(joinPhases) time.Duration
	}{
		{"login answered", func(p joinPhases) time.Duration { return p.joined }},
		{"subscription ready", func(p joinPhases) time.Duration { return p.subscribed }},
		{"first audio packet", func(p joinPhases) time.Duration { return p.firstAudio }},
		{"first video packet", func(p joinPhases) time.Duration { return p.firstPacket }},
		{"first decoded frame", func(p joinPhases) time.Duration { return p.firstFrame }},
	}
	for _, r := range runs {
		for _, st := range steps {
			ds := make([]time.Duration, len(r.runs))
			for i, p := range r.runs {
				ds[i] = st.get(p)
			}
			fmt.Fprintf(&b, "%-22s %-20s %s\n", r.name, st.name, latencyRow(ds))
		}
	}
	return b.String()
}

// latencyRow formats the distribution of ds.
func latencyRow(ds []time.Duration) string {
	if len(ds) == 0 {
		return fmt.Sprintf("%5d", 0)
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }
	return fmt.Sprintf("%5d %9s %9s %9s %9s %9s", len(s), ms(percentile(s, 0.50)), ms(percentile(s, 0.95)),
		ms(percentile(s, 0.99)), ms(s[len(s)-1]), ms(sum/time.Duration(len(s))))
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// packetCounter counts the RTP packets and payload bytes subscribers receive.
type packetCounter struct {
	packets, bytes atomic.Int64
}

// onTrack reads a remote track until it ends, counting its packets.
func (p *packetCounter) onTrack(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	buf := make([]byte, 1500)
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		p.packets.Add(1)
		p.bytes.Add(int64(n))
	}
}

// cpuSample is a process's CPU time and the wall clock when it was read.
type cpuSample struct {
	cpu  time.Duration
	wall time.Time
}

// clockTicks is the kernel's USER_HZ from getconf, or the usual 100 when unavailable.
func clockTicks() int {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if n, perr := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && perr == nil && n > 0 {
		return n
	}
	return 100
}

// processCPU reads utime+stime of pid from /proc/<pid>/stat.
func processCPU(t *testing.T, pid, ticks int) cpuSample {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The command name (field 2) is in parentheses and may hold spaces: fields after the last
	// ")" start at field 3 (state); utime and stime are fields 14 and 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		t.Fatalf("unexpected /proc/%d/stat: %s", pid, s)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("unexpected /proc/%d/stat: %s", pid, s)
	}
	return cpuSample{cpu: time.Duration(utime+stime) * time.Second / time.Duration(ticks), wall: time.Now()}
}

// window measures the server's CPU and the subscribers' packets over d.
type window struct {
	packets, bytes int64
	cpu, wall      time.Duration
}

func measureWindow(t *testing.T, pid, ticks int, pc *packetCounter, d time.Duration) window {
	t.Helper()
	c0, p0, b0 := processCPU(t, pid, ticks), pc.packets.Load(), pc.bytes.Load()
	time.Sleep(d) // the measurement window itself, not a readiness wait
	c1, p1, b1 := processCPU(t, pid, ticks), pc.packets.Load(), pc.bytes.Load()
	return window{packets: p1 - p0, bytes: b1 - b0, cpu: c1.cpu - c0.cpu, wall: c1.wall.Sub(c0.wall)}
}

// startCountingSubscriber joins, subscribes streamID with its packets counted by pc, and
// returns once both tracks arrived.
func startCountingSubscriber(ctx context.Context, token, streamID string, pc *packetCounter) (*rtc.Client, error) {
	c, info, err := rtc.Join(ctx, token, loopbackClient)
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	j := slices.IndexFunc(info.Room.Streams, func(s protocol.StreamInfo) bool { return s.ID == streamID })
	if j < 0 {
		return c, fmt.Errorf("stream %s not in the login result", streamID)
	}
	sub, err := c.Subscribe(ctx, info.Room.Streams[j], rtc.SubscribeOptions{OnTrack: pc.onTrack})
	if err != nil {
		return c, fmt.Errorf("subscribe: %w", err)
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := sub.WaitTrack(ctx, kind); err != nil {
			return c, fmt.Errorf("%s track: %w", kind, err)
		}
	}
	return c, nil
}

func TestE2EMeasureForwardingCPU(t *testing.T) {
	subs := e2eutil.EnvInt(t, "CONCLAVE_MEASURE_SUBSCRIBERS", 3)
	secs := e2eutil.EnvInt(t, "CONCLAVE_MEASURE_SECONDS", 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	room := startMeasureRoom(ctx, t)
	pid, ticks := room.srv.proc.PID(), clockTicks()
	var pc packetCounter

	// Baseline: the publisher alone (ingest, RTCP, signaling keep-alives).
	base := measureWindow(t, pid, ticks, &pc, time.Duration(secs)*time.Second)

	// Subscribers join in parallel (each waits for a keyframe: the one its PLI asks for, or
	// the clip's next when the throttles drop the request).
	tokens := make([]string, subs)
	for i := range tokens {
		tokens[i] = room.token(t, fmt.Sprintf("sub-%d", i))
	}
	clients := make([]*rtc.Client, subs)
	errs := make([]error, subs)
	t.Cleanup(func() { leave(clients) })
	var wg sync.WaitGroup
	for i := range subs {
		wg.Go(func() { clients[i], errs[i] = startCountingSubscriber(ctx, tokens[i], room.stream, &pc) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("subscriber %d: %v", i, err)
		}
	}
	self0 := processCPU(t, os.Getpid(), ticks)
	fwd := measureWindow(t, pid, ticks, &pc, time.Duration(secs)*time.Second)
	self1 := processCPU(t, os.Getpid(), ticks)
	if fwd.packets == 0 {
		t.Fatal("the subscribers received no packets")
	}

	var b strings.Builder
	fmt.Fprintf(&b, "1 publisher (VP8+Opus clips) → %d subscribers, %s windows; server = conclave all-in-one (race detector: %v); CLK_TCK %d\n",
		subs, fwd.wall.Round(time.Millisecond), e2eutil.RaceEnabled, ticks)
	fmt.Fprintf(&b, "%-26s %10s %10s %10s %9s %8s\n", "window", "packets", "pkt/s", "Mbit/s", "CPU-s", "CPU %")
	for _, w := range []struct {
		name string
		w    window
	}{{"publisher only", base}, {"forwarding", fwd}} {
		sec := w.w.wall.Seconds()
		fmt.Fprintf(&b, "%-26s %10d %10.0f %10.2f %9.2f %7.1f%%\n", w.name, w.w.packets, float64(w.w.packets)/sec,
			float64(w.w.bytes)*8/sec/1e6, w.w.cpu.Seconds(), 100*w.w.cpu.Seconds()/sec)
	}
	gross := fwd.cpu.Seconds()
	marginal := gross - base.cpu.Seconds()*fwd.wall.Seconds()/base.wall.Seconds()
	perPkt := func(cpu float64) string {
		if cpu <= 0 {
			return "n/a (below the clock-tick resolution)"
		}
		return fmt.Sprintf("%.0f packets per CPU-second, %.1f µs CPU per forwarded packet", float64(fwd.packets)/cpu, cpu*1e6/float64(fwd.packets))
	}
	fmt.Fprintf(&b, "(the publisher and subscribers, in this test process, used %.2f CPU-s in the forwarding window)\n",
		(self1.cpu - self0.cpu).Seconds())
	fmt.Fprintf(&b, "gross    (all server CPU in the window): %s\n", perPkt(gross))
	fmt.Fprintf(&b, "marginal (minus the publisher-only rate): %s\n", perPkt(marginal))
	t.Logf("forwarding cost\n%s", b.String())
}
