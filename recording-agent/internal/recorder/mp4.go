package recorder

import (
	"context"
	"fmt"
	"github.com/conclave-rtc/conclave/common/udpport"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conclave-rtc/conclave/common/rtpframe"
	"github.com/conclave-rtc/conclave/recording-agent/internal/timeline"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// srInterval is how often the MP4 path sends ffmpeg a Sender Report per stream; ffmpeg
// lines its RTP streams up by them.
const srInterval = time.Second

// stopGrace bounds Stop's wait for ffmpeg to exit after its quit key.
const stopGrace = 3 * time.Second

// Payload types announced to ffmpeg.
const (
	ptVideo = 96
	ptAudio = 111
)

// mp4Stream forwards one kind to ffmpeg over UDP, rewriting the RTP header so that a source
// switch keeps one SSRC, continuous sequence numbers and timestamps on the recording's
// timeline.
type mp4Stream struct {
	src  Source
	pt   uint8
	ssrc uint32
	conn *net.UDPConn // to the RTP port
	rtcp *net.UDPConn // to the RTCP port

	mu       sync.Mutex
	tl       *timeline.Track
	ts       unwrap32
	seqDelta uint16
	synced   bool // the current source's sequence numbers are mapped
	gated    bool // video: waiting for a keyframe start
	outSeq   uint16
	lastTS   int64 // highest timestamp sent
	shift    int64 // added to the current source's timestamps
	floor    int64 // the current source must start after this (-1: first source)
	lastSR   time.Time
	packets  uint32
	octets   uint32
	// depack watches the video that ffmpeg depacketizes itself: it asks the source for
	// keyframes while the stream waits to start and after every loss (its frames are
	// discarded).
	depack *rtpframe.Depacketizer
}

// MP4 records through ffmpeg into fragmented MP4: H.264 copied, Opus transcoded to AAC.
type MP4 struct {
	cfg     Config
	ff      *ffmpeg
	clock   timeline.Clock
	origin  time.Time
	streams map[string]*mp4Stream
	started chan struct{}
	// videoOn: the video has started. Audio waits for it because ffmpeg's RTP demuxer
	// leaves the first H.264 frame without a timestamp and places it at the input's
	// start: starting both together keeps A/V in sync in the file.
	videoOn atomic.Bool
	once    sync.Once
	startMu sync.Once
	err     error
}

var _ Sink = (*MP4)(nil)

// NewMP4 starts ffmpeg for the sources; the file must not exist.
func NewMP4(ctx context.Context, cfg Config) (*MP4, error) {
	cfg.defaults()
	if err := CheckMP4(cfg.Sources); err != nil {
		return nil, err
	}
	if _, err := os.Stat(cfg.Path); err == nil {
		return nil, fmt.Errorf("recorder: create %s: %w", cfg.Path, os.ErrExist)
	}
	var m *MP4
	for try := 1; ; try++ {
		ports, err := udpport.Pairs(len(cfg.Sources))
		if err != nil {
			return nil, fmt.Errorf("recorder: %w", err)
		}
		if m, err = startMP4(cfg, ports); err == nil {
			break
		}
		// The ports are released before ffmpeg binds them: another socket may have taken one.
		if try == maxPortTries || !udpport.InUse(err.Error()) || ctx.Err() != nil {
			return nil, err
		}
	}
	// Timestamps are (local time - origin) ticks on every stream, so one report per stream
	// before any media lets ffmpeg line the streams up from their first packet.
	for _, s := range m.streams {
		s.sendSR(0, m.origin, time.Now())
	}
	return m, nil
}

// maxPortTries bounds the attempts when ffmpeg finds its RTP ports taken.
const maxPortTries = 3

// startMP4 dials the ports and starts ffmpeg on them.
func startMP4(cfg Config, ports []int) (*MP4, error) {
	m := &MP4{cfg: cfg, origin: time.Now(), streams: map[string]*mp4Stream{}, started: make(chan struct{})}
	if err := m.dialStreams(ports); err != nil {
		m.closeConns()
		return nil, err
	}
	_, hasVideo := m.streams[Video]
	_, hasAudio := m.streams[Audio]
	var err error
	m.ff, err = startFFmpeg(cfg.FFmpeg, cfg.Path, m.sdp(ports), ports, hasVideo, hasAudio)
	if err != nil {
		m.closeConns()
		_ = os.Remove(cfg.Path)
		return nil, err
	}
	return m, nil
}

func (m *MP4) dialStreams(ports []int) error {
	for i, s := range m.cfg.Sources {
		st := &mp4Stream{src: s, pt: ptAudio, ssrc: uint32(0x1000 + i), gated: s.Kind == Video}
		st.src.ClockRate = 48000 // the SDP's rates: Opus always 48 kHz, video 90 kHz
		if s.Kind == Video {
			st.pt, st.src.ClockRate = ptVideo, 90000
		}
		var err error
		if st.conn, err = dialLoopback(ports[i]); err != nil {
			return err
		}
		if st.rtcp, err = dialLoopback(ports[i] + 1); err != nil {
			_ = st.conn.Close()
			return err
		}
		m.streams[s.Kind] = st
	}
	return nil
}

func dialLoopback(port int) (*net.UDPConn, error) {
	c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		return nil, fmt.Errorf("recorder: dial ffmpeg port %d: %w", port, err)
	}
	return c, nil
}

func (m *MP4) closeConns() {
	for _, s := range m.streams {
		_ = s.conn.Close()
		_ = s.rtcp.Close()
	}
}

// sdp describes the streams to ffmpeg (RFC 4566; ffmpeg binds port and port+1).
func (m *MP4) sdp(ports []int) string {
	var b strings.Builder
	b.WriteString("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=conclave-recording\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n")
	for i, s := range m.cfg.Sources {
		if s.Kind == Video {
			fmt.Fprintf(&b, "m=video %d RTP/AVP %d\r\na=rtpmap:%d H264/90000\r\na=fmtp:%d packetization-mode=1\r\n", ports[i], ptVideo, ptVideo, ptVideo)
		} else {
			fmt.Fprintf(&b, "m=audio %d RTP/AVP %d\r\na=rtpmap:%d opus/48000/2\r\n", ports[i], ptAudio, ptAudio)
		}
	}
	return b.String()
}

// Begin implements Sink.
func (m *MP4) Begin(src Source, keyframe func()) {
	s := m.streams[src.Kind]
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tl = timeline.NewTrack(&m.clock, src.ClockRate)
	s.ts = unwrap32{}
	s.synced, s.gated = false, src.Kind == Video
	s.floor, s.shift = s.lastTS+1, 0
	if src.Kind == Video {
		s.depack = rtpframe.New(rtpframe.H264, m.cfg.depacketizer(Video, keyframe))
	}
}

// RTP implements Sink.
func (m *MP4) RTP(kind string, pkt []byte, arrival time.Time) {
	s := m.streams[kind]
	var p rtp.Packet
	if s == nil || p.Unmarshal(pkt) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tl == nil {
		return
	}
	if s.depack != nil {
		s.depack.Push(&p, arrival, discardFrame)
	}
	if s.gated && !rtpframe.KeyframeStart(rtpframe.H264, p.Payload) {
		return
	}
	if kind == Video {
		m.videoOn.Store(true)
	} else if m.streams[Video] != nil && !m.videoOn.Load() {
		return
	}
	s.gated = false
	if !s.synced {
		s.seqDelta, s.synced = s.outSeq-p.SequenceNumber, true
	}
	ticks := s.ticks(p.Timestamp, arrival, m.origin)
	p.SSRC, p.PayloadType, p.SequenceNumber, p.Timestamp = s.ssrc, s.pt, p.SequenceNumber+s.seqDelta, uint32(ticks)
	p.Extension, p.Extensions, p.CSRC = false, nil, nil
	if arrival.Sub(s.lastSR) >= srInterval {
		s.sendSR(ticks, m.origin, arrival)
	}
	if out, err := p.Marshal(); err == nil {
		_, _ = s.conn.Write(out)
		s.packets++
		s.octets += uint32(len(p.Payload))
	}
	if int16(p.SequenceNumber-s.outSeq) >= 0 {
		s.outSeq = p.SequenceNumber + 1
	}
	m.startMu.Do(func() { close(m.started) })
}

// ticks places a packet on the recording's timeline in RTP clock units. The first packet
// of a new source is shifted, with the rest of that source, to after the previous source.
func (s *mp4Stream) ticks(ts uint32, arrival, origin time.Time) int64 {
	local := s.tl.Local(s.ts.extend(ts), arrival)
	t := int64(local.Sub(origin))*int64(s.src.ClockRate)/int64(time.Second) + s.shift
	if s.floor > 0 && t < s.floor {
		s.shift += s.floor - t
		t = s.floor
	}
	s.floor = 0
	s.lastTS = max(t, s.lastTS)
	return t
}

// sendSR tells ffmpeg which wall-clock time the timestamp ticks stands for.
func (s *mp4Stream) sendSR(ticks int64, origin, now time.Time) {
	s.lastSR = now
	at := origin.Add(time.Duration(ticks * int64(time.Second) / int64(s.src.ClockRate)))
	sr := &rtcp.SenderReport{SSRC: s.ssrc, NTPTime: timeline.ToNTP(at), RTPTime: uint32(ticks),
		PacketCount: s.packets, OctetCount: s.octets}
	if b, err := sr.Marshal(); err == nil {
		_, _ = s.rtcp.Write(b)
	}
}

// RTCP implements Sink.
func (m *MP4) RTCP(kind string, pkt []byte, arrival time.Time) {
	s := m.streams[kind]
	pkts, err := rtcp.Unmarshal(pkt)
	if s == nil || err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range pkts {
		if sr, ok := p.(*rtcp.SenderReport); ok && s.tl != nil {
			s.tl.SenderReport(sr, arrival)
		}
	}
}

// Started implements Sink.
func (m *MP4) Started() <-chan struct{} { return m.started }

// Failed implements Sink.
func (m *MP4) Failed() <-chan struct{} { return m.ff.exited }

// Stop implements Sink: ffmpeg gets its quit key while packets still arrive, and is given
// up to stopGrace to finish the file.
func (m *MP4) Stop() { m.ff.quitKey(stopGrace) }

// Finish implements Sink: ffmpeg is asked to quit and waited for.
func (m *MP4) Finish() error {
	m.once.Do(func() {
		for _, s := range m.streams {
			s.mu.Lock()
			s.tl = nil // late packets are ignored
			s.mu.Unlock()
		}
		m.err = m.ff.stop()
		m.closeConns()
	})
	return m.err
}

// discardFrame drops the frames of the watching assembler: ffmpeg gets the packets.
func discardFrame(rtpframe.Frame) {}

// unwrap32 extends RTP timestamps to 64 bits.
type unwrap32 struct {
	last  int64
	valid bool
}

func (u *unwrap32) extend(v uint32) int64 {
	if !u.valid {
		u.last, u.valid = int64(v), true
		return u.last
	}
	ext := u.last + int64(int32(v-uint32(u.last)))
	u.last = max(u.last, ext)
	return ext
}
