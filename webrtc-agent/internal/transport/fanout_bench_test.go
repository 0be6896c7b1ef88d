package transport

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/webrtc-agent/internal/sfu"
	"github.com/pion/webrtc/v4"
)

// BenchmarkTransportFanout measures the whole outbound path of the SFU (DownTrack, pion's
// interceptors and SRTP, the ICE UDP mux and its socket writes): one VP8 source sfu.Track
// fanned out to CONCLAVE_FANOUT_SUBS (default 50) subscriber transports of one Engine on
// loopback, received by pion peers in a child process so that getrusage counts the server
// side only. One op is one incoming 1,100-byte packet; frames are 10 packets, sent as fast
// as possible or paced at CONCLAVE_FANOUT_RATE incoming packets per second.
// CONCLAVE_FANOUT_BATCH sets the write batching window (e.g. -1s: no batching);
// CONCLAVE_FANOUT_CC=off turns congestion control off (transport-wide sequence numbers, the
// estimator and the allocator; the receivers send transport-wide-cc feedback). It reports
// the server's CPU per forwarded packet (user+system; on loopback the system share includes
// the receiving socket's delivery), allocations per packet, datagrams per sendmmsg and the
// share of packets the receivers got. Run it with a small -benchtime, e.g.
//
//	go test -run '^$' -bench TransportFanout -benchtime 20000x ./internal/transport/
func BenchmarkTransportFanout(b *testing.B) {
	subs := 50
	if v, err := strconv.Atoi(os.Getenv("CONCLAVE_FANOUT_SUBS")); err == nil && v > 0 {
		subs = v
	}
	f := newFanout(b, subs)
	f.rate, _ = strconv.Atoi(os.Getenv("CONCLAVE_FANOUT_RATE"))
	b.Run(fmt.Sprintf("subs=%d", subs), f.run)
}

// fanout is the benchmark's fixture: an engine, its subscriber transports and the child.
type fanout struct {
	eng    *Engine
	rate   int // incoming packets per second (0: as fast as possible)
	src    *sfu.Track
	downs  []*sfu.DownTrack
	cmdIn  io.WriteCloser
	cmdOut *json.Decoder
	seq    uint16
	ts     uint32
	pkts   [][]byte
	tag    byte // third payload byte

	inFrame int       // packets of the current frame forwarded so far
	frameAt time.Time // when the current frame started
}

// benchListener ignores transport events.
type benchListener struct{}

func (benchListener) Event(string, protocol.RTCEvent) {}
func (benchListener) TrackPublished(*sfu.Track)       {}
func (benchListener) TrackUnpublished(*sfu.Track)     {}
func (benchListener) Failed(*Transport, string)       {}

// newFanout starts the child with subs receivers and connects a subscriber transport to
// each; it returns once every down-track is sending.
func newFanout(b *testing.B, subs int) *fanout {
	b.Helper()
	cfg := NetConfig{Interfaces: []string{"lo"}, IncludeLoopback: true}
	if v, err := time.ParseDuration(os.Getenv("CONCLAVE_FANOUT_BATCH")); err == nil {
		cfg.WriteBatchWindow = v // negative: no batching
	}
	cfg.Congestion.Disabled = os.Getenv("CONCLAVE_FANOUT_CC") == "off"
	eng, err := NewEngine(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(eng.Close)
	f := &fanout{eng: eng, src: sfu.NewTrack(sfu.TrackConfig{ID: "pub-0", Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}})}
	dec := f.startChild(b, subs)
	// All offers first: the child writes them all before it reads any answer.
	offers := make([]string, subs)
	for i := range offers {
		var m receiverMsg
		if err := dec.Decode(&m); err != nil {
			b.Fatalf("offer %d from receiver process: %v", i, err)
		}
		offers[i] = m.SDP
	}
	for i, offer := range offers {
		f.downs = append(f.downs, f.subscribe(b, eng, i, offer))
	}
	f.warmUp(b)
	return f
}

// startChild starts the receiver process and returns the decoder of its offers.
func (f *fanout) startChild(b *testing.B, subs int) *json.Decoder {
	b.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFanoutReceiverProcess$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), receiverEnv+"="+strconv.Itoa(subs))
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stderr = os.Stderr
	if f.cmdIn, err = cmd.StdinPipe(); err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	_ = w.Close()
	b.Cleanup(func() {
		_ = f.cmdIn.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				b.Errorf("receiver process: %v", err)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			b.Error("receiver process did not exit")
		}
		_ = r.Close()
	})
	f.cmdOut = json.NewDecoder(bufio.NewReader(r))
	return f.cmdOut
}

// subscribe creates subscriber transport i for offer and sends the answer to the child.
func (f *fanout) subscribe(b *testing.B, eng *Engine, i int, offer string) *sfu.DownTrack {
	b.Helper()
	tr, err := New(Config{ID: fmt.Sprint("sub-", i), Engine: eng, Listener: benchListener{}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(tr.Close)
	const mid = "0"
	if err := tr.AddSubscription("op", "ctl", []SubTrack{{Mid: mid, Kind: webrtc.RTPCodecTypeVideo, Source: f.src}}); err != nil {
		b.Fatal(err)
	}
	answer, err := tr.Offer(context.Background(), offer)
	if err != nil {
		b.Fatal(err)
	}
	if err := json.NewEncoder(f.cmdIn).Encode(receiverMsg{SDP: answer}); err != nil {
		b.Fatal(err)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.mids[mid].down
}

// warmUp sends keyframes until every down-track has sent one.
func (f *fanout) warmUp(b *testing.B) {
	b.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !f.allSending() {
		if time.Now().After(deadline) {
			b.Fatal("subscribers did not start within 60 s")
		}
		f.frame(true)
		time.Sleep(20 * time.Millisecond) // pacing the warm-up frames, not a readiness wait
	}
}

func (f *fanout) allSending() bool {
	for _, d := range f.downs {
		if d.Sent() == 0 {
			return false
		}
	}
	return true
}

// frame forwards one 10-packet frame.
func (f *fanout) frame(key bool) {
	for i := range 10 {
		f.forward(key && i == 0, i == 9)
	}
}

// forward builds and forwards the next 1,100-byte VP8 packet.
func (f *fanout) forward(key, marker bool) {
	if f.pkts == nil {
		f.pkts = [][]byte{make([]byte, 1100), make([]byte, 1100)}
	}
	p := f.pkts[f.seq&1]
	p[0], p[1] = 0x80, 96
	if marker {
		p[1] |= 0x80
	}
	binary.BigEndian.PutUint16(p[2:], f.seq)
	binary.BigEndian.PutUint32(p[4:], f.ts)
	binary.BigEndian.PutUint32(p[8:], 0x1234)
	p[12], p[13], p[14] = 0x10, 0x01, f.tag // VP8 descriptor (S=1), payload header: inter frame
	if f.inFrame == 0 {                     // a frame arrives at once: its packets' latency counts from then
		f.frameAt = time.Now()
	}
	f.inFrame++
	if marker {
		f.inFrame = 0
	}
	binary.BigEndian.PutUint64(p[15:], uint64(f.frameAt.UnixNano()))
	if key {
		p[13] = 0x00
	}
	f.src.Forward(p)
	f.seq++
	if marker {
		f.ts += 3000
	}
}

// sent sums the down-tracks' forwarded packets.
func (f *fanout) sent() uint64 {
	var n uint64
	for _, d := range f.downs {
		n += d.Sent()
	}
	return n
}

// received asks the child how many packets its peers have read, with their latency since
// the previous call.
func (f *fanout) received(b *testing.B) receiverMsg {
	if err := json.NewEncoder(f.cmdIn).Encode(receiverMsg{Cmd: "count"}); err != nil {
		b.Fatal(err)
	}
	var m receiverMsg
	if err := f.cmdOut.Decode(&m); err != nil {
		b.Fatal(err)
	}
	return m
}

// cpuTime returns the process's user and system CPU time.
func cpuTime(b *testing.B) (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// run is one measured round: b.N packets, in 10-packet frames.
func (f *fanout) run(b *testing.B) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mallocs, sent0, recv0 := ms.Mallocs, f.sent(), f.received(b).Received
	var batch0 batchStats
	if f.eng.batch != nil {
		batch0 = f.eng.batch.stats()
	}
	usr0, sys0 := cpuTime(b)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if f.rate > 0 && i%10 == 0 { // pace whole frames
			time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(f.rate))))
		}
		f.forward(false, i%10 == 9)
	}
	b.StopTimer()
	usr, sys := cpuTime(b)
	usr, sys = usr-usr0, sys-sys0
	cpu := usr + sys
	runtime.ReadMemStats(&ms)
	sent := f.sent() - sent0
	if sent == 0 {
		b.Fatal("nothing forwarded")
	}
	time.Sleep(200 * time.Millisecond) // let the last packets reach the receivers before counting
	rm := f.received(b)
	recv := rm.Received - recv0
	// On loopback the kernel delivers each datagram to the receiver's socket within the
	// sender's syscall, so the system share is larger than with a network interface.
	b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(sent), "cpu-µs/pkt")
	b.ReportMetric(float64(usr.Nanoseconds())/1e3/float64(sent), "usr-µs/pkt")
	b.ReportMetric(float64(sys.Nanoseconds())/1e3/float64(sent), "sys-µs/pkt")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(sent), "wall-µs/pkt")
	b.ReportMetric(float64(ms.Mallocs-mallocs)/float64(sent), "allocs/pkt")
	b.ReportMetric(float64(recv)/float64(sent), "delivered")
	if f.eng.batch != nil {
		st := f.eng.batch.stats()
		if n := st.Batches - batch0.Batches; n > 0 {
			b.ReportMetric(float64(st.Sent-batch0.Sent)/float64(n), "pkts/batch")
		}
	}
	b.ReportMetric(rm.LatP50, "p50-lat-µs")
	b.ReportMetric(rm.LatP99, "p99-lat-µs")
	b.Logf("%d subscribers: %d packets forwarded in %v (cpu %v), %d received; latency µs mean %.0f p50 %.0f p99 %.0f max %.0f",
		len(f.downs), sent, b.Elapsed(), cpu, recv, rm.LatMean, rm.LatP50, rm.LatP99, rm.LatMax)
}
