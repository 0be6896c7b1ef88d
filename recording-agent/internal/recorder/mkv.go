package recorder

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/conclave-rtc/conclave/common/rtpframe"
	"github.com/conclave-rtc/conclave/recording-agent/internal/timeline"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// frameQueue is the depth of the channel from the media links to the muxer.
const frameQueue = 256

// mkvFrame is one frame on its way to the muxer.
type mkvFrame struct {
	track    *mkvTrack
	at       time.Time // local capture time
	key      bool
	data     []byte
	width    int
	height   int
	sps, pps []byte
}

// mkvTrack is the RTP → frame pipeline of one kind. mu serialises the link's reader with
// Begin and Finish.
type mkvTrack struct {
	number uint64
	src    Source

	mu     sync.Mutex
	depack *rtpframe.Depacketizer
	tl     *timeline.Track
	last   time.Time // local time of the last frame sent: a new source never goes back
}

// MKV writes a Matroska file natively.
type MKV struct {
	cfg    Config
	file   *os.File
	clock  timeline.Clock
	tracks map[string]*mkvTrack
	mux    *muxer

	in       chan mkvFrame
	stop     chan struct{}
	done     chan struct{} // the muxer goroutine ended
	started  chan struct{}
	finish   sync.Once
	err      error // set by the muxer before done closes
	stopOnce sync.Once
}

var _ Sink = (*MKV)(nil)

// NewMKV creates the file and starts the muxer goroutine (stopped by Finish).
func NewMKV(cfg Config) (*MKV, error) {
	cfg.defaults()
	if err := CheckMKV(cfg.Sources); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(cfg.Path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("recorder: create %s: %w", cfg.Path, err)
	}
	m := &MKV{cfg: cfg, file: f, tracks: map[string]*mkvTrack{},
		in: make(chan mkvFrame, frameQueue), stop: make(chan struct{}), done: make(chan struct{}), started: make(chan struct{})}
	var ordered []*mkvTrack
	for i, s := range cfg.Sources {
		t := &mkvTrack{number: uint64(i + 1), src: s}
		m.tracks[s.Kind] = t
		ordered = append(ordered, t)
	}
	m.mux = newMuxer(f, cfg, ordered, func() { close(m.started) })
	go m.run()
	return m, nil
}

// run is the muxer goroutine.
func (m *MKV) run() {
	defer close(m.done)
	err := m.mux.run(m.in, m.stop)
	if cerr := m.file.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("recorder: close: %w", cerr)
	}
	m.err = err
}

// Begin implements Sink.
func (m *MKV) Begin(src Source, keyframe func()) {
	t := m.tracks[src.Kind]
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.depack != nil {
		t.depack.Drain(t.emit(m))
	}
	t.src.ClockRate, t.src.Channels = src.ClockRate, src.Channels
	t.depack = rtpframe.New(t.src.Codec, m.cfg.depacketizer(src.Kind, keyframe))
	t.tl = timeline.NewTrack(&m.clock, src.ClockRate)
}

// RTP implements Sink.
func (m *MKV) RTP(kind string, pkt []byte, arrival time.Time) {
	t := m.tracks[kind]
	var p rtp.Packet
	if t == nil || p.Unmarshal(pkt) != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.depack != nil {
		t.depack.Push(&p, arrival, t.emit(m))
	}
}

// RTCP implements Sink.
func (m *MKV) RTCP(kind string, pkt []byte, arrival time.Time) {
	t := m.tracks[kind]
	if t == nil {
		return
	}
	pkts, err := rtcp.Unmarshal(pkt)
	if err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range pkts {
		if sr, ok := p.(*rtcp.SenderReport); ok && t.tl != nil {
			t.tl.SenderReport(sr, arrival)
		}
	}
}

// emit returns the frame callback of t's depacketizer: frames get their local time and are
// copied to the muxer. t.mu is held.
func (t *mkvTrack) emit(m *MKV) func(rtpframe.Frame) {
	return func(f rtpframe.Frame) {
		if f.Discontinuity { // a new timeline: anchor it afresh after what was written
			t.tl = timeline.NewTrack(&m.clock, t.src.ClockRate)
		}
		at := t.tl.Local(f.Timestamp, f.Arrival)
		if !at.After(t.last) && !t.last.IsZero() {
			at = t.last.Add(time.Millisecond)
		}
		t.last = at
		fr := mkvFrame{track: t, at: at, key: f.Key, data: append([]byte(nil), f.Data...),
			width: f.Width, height: f.Height, sps: f.SPS, pps: f.PPS}
		if f.SPS != nil {
			fr.sps = append([]byte(nil), f.SPS...)
		}
		if f.PPS != nil {
			fr.pps = append([]byte(nil), f.PPS...)
		}
		select {
		case m.in <- fr:
		case <-m.done:
		}
	}
}

// Started implements Sink.
func (m *MKV) Started() <-chan struct{} { return m.started }

// Failed implements Sink.
func (m *MKV) Failed() <-chan struct{} { return m.done }

// Stop implements Sink; the MKV writer needs no media to finish.
func (m *MKV) Stop() {}

// Finish implements Sink: it drains the depacketizers, lets the muxer write everything and
// complete the file, and waits for it.
func (m *MKV) Finish() error {
	m.finish.Do(func() {
		for kind, t := range m.tracks {
			t.mu.Lock()
			if t.depack != nil {
				t.depack.Drain(t.emit(m))
				logStats(m.cfg.Log, kind, t.depack.Stats())
				t.depack = nil
			}
			t.mu.Unlock()
		}
		close(m.stop)
	})
	<-m.done
	return m.err
}

// Path returns the file path.
func (m *MKV) Path() string { return m.cfg.Path }
