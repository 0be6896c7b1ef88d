package transport

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// The fan-out benchmark's subscribers run in a child process (this test binary started
// with receiverEnv set) so that the benchmark's getrusage counts the server side only. The
// child talks JSON lines: it writes one offer per subscriber on fd 3, reads the answers on
// stdin, then answers each "count" line on stdin with the packets received so far, and
// closes its peers and exits when stdin ends.

// receiverEnv holds the number of subscribers the child process creates.
const receiverEnv = "CONCLAVE_FANOUT_RECEIVERS"

// receiverMsg is one line between the benchmark and its receiver process.
type receiverMsg struct {
	SDP      string `json:"sdp,omitempty"`
	Cmd      string `json:"cmd,omitempty"`
	Received int64  `json:"received,omitempty"`
	Tracks   int64  `json:"tracks,omitempty"`
	// Latency of the packets since the previous count (µs from the start of their frame,
	// which the benchmark stamps in the payload, to the subscriber's read).
	LatMean, LatP50, LatP99, LatMax float64 `json:",omitempty"`
}

// latencies is a histogram of packet latencies in 10 µs buckets (the last one open).
type latencies struct {
	mu      sync.Mutex
	buckets [2001]int64
	n       int64
	sum     time.Duration
	max     time.Duration
}

func (l *latencies) add(d time.Duration) {
	i := min(max(int(d/(10*time.Microsecond)), 0), len(l.buckets)-1)
	l.mu.Lock()
	l.buckets[i]++
	l.n++
	l.sum += d
	l.max = max(l.max, d)
	l.mu.Unlock()
}

// report fills m's latency fields and starts over.
func (l *latencies) report(m *receiverMsg) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n > 0 {
		m.LatMean, m.LatMax = float64(l.sum.Microseconds())/float64(l.n), float64(l.max.Microseconds())
		m.LatP50, m.LatP99 = l.quantile(0.5), l.quantile(0.99)
	}
	l.buckets, l.n, l.sum, l.max = [len(l.buckets)]int64{}, 0, 0, 0
}

func (l *latencies) quantile(q float64) float64 {
	rank, seen := int64(q*float64(l.n)), int64(0)
	for i, c := range l.buckets {
		if seen += c; seen > rank {
			return float64(i * 10)
		}
	}
	return float64(l.max.Microseconds())
}

// sentAt reads the frame time the benchmark stamps after the VP8 descriptor and tag.
func sentAt(pkt []byte) (time.Time, bool) {
	var h rtp.Header
	off, err := h.Unmarshal(pkt)
	if err != nil || len(pkt) < off+11 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(pkt[off+3:]))), true
}

// TestFanoutReceiverProcess is the benchmark's child process; it is skipped otherwise.
func TestFanoutReceiverProcess(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv(receiverEnv))
	if err != nil || n <= 0 {
		t.Skip("helper process of BenchmarkTransportFanout")
	}
	out := os.NewFile(3, "fanout-out")
	if out == nil {
		t.Fatal("fd 3 missing")
	}
	if err := runReceivers(n, bufio.NewReader(os.Stdin), json.NewEncoder(out)); err != nil {
		t.Fatal(err)
	}
}

// runReceivers creates n receiving peers and serves the benchmark's commands.
func runReceivers(n int, in *bufio.Reader, out *json.Encoder) error {
	api, err := receiverAPI()
	if err != nil {
		return err
	}
	var received, tracks atomic.Int64
	var lat latencies
	var wg sync.WaitGroup
	pcs := make([]*webrtc.PeerConnection, 0, n)
	defer func() {
		for _, pc := range pcs {
			_ = pc.Close()
		}
		wg.Wait()
	}()
	for range n {
		pc, err := api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
		if err != nil {
			return err
		}
		pcs = append(pcs, pc)
		pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			tracks.Add(1)
			wg.Add(1)
			defer wg.Done()
			buf := make([]byte, 1500)
			for {
				n, _, err := tr.Read(buf)
				if err != nil {
					return
				}
				received.Add(1)
				if at, ok := sentAt(buf[:n]); ok {
					lat.add(time.Since(at))
				}
			}
		})
		offer, err := receiverOffer(pc)
		if err != nil {
			return err
		}
		if err := out.Encode(receiverMsg{SDP: offer}); err != nil {
			return err
		}
	}
	dec := json.NewDecoder(in)
	for _, pc := range pcs {
		var m receiverMsg
		if err := dec.Decode(&m); err != nil {
			return fmt.Errorf("reading answer: %w", err)
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
			return err
		}
	}
	for {
		var m receiverMsg
		if err := dec.Decode(&m); err != nil {
			return nil // stdin closed: done
		}
		r := receiverMsg{Received: received.Load(), Tracks: tracks.Load()}
		lat.report(&r)
		if err := out.Encode(r); err != nil {
			return err
		}
	}
}

// receiverAPI is a browser-like pion API (default interceptors: NACK, reports, TWCC
// feedback) on loopback only.
func receiverAPI() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "transport-cc"}}
	err := m.RegisterCodec(webrtc.RTPCodecParameters{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb}}, webrtc.RTPCodecTypeVideo)
	if err != nil {
		return nil, err
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(n string) bool { return n == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

// receiverOffer offers one recvonly video m-section and waits for gathering.
func receiverOffer(pc *webrtc.PeerConnection) (string, error) {
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		return "", err
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return "", err
	}
	<-gathered
	return pc.LocalDescription().SDP, nil
}
