package recorder

import (
	"fmt"
	"time"

	"github.com/conclave-rtc/conclave/common/rtpframe"
	"github.com/conclave-rtc/conclave/recording-agent/internal/mkv"
)

const (
	// holdback is how long a frame waits for the other track's earlier frames before it
	// is written anyway (interleaving in timestamp order).
	holdback = 300 * time.Millisecond
	// headerWait bounds how long audio waits for the first video keyframe, whose size goes
	// into the header (H.264 always waits: its CodecPrivate needs the SPS/PPS).
	headerWait = 5 * time.Second
	// maxPending bounds the frames kept while the header waits.
	maxPending = 3000
	// tick is the muxer's housekeeping period.
	tick = 50 * time.Millisecond
)

// muxer owns the mkv.Writer: it interleaves the tracks' frames, writes the header once
// the codec configuration is known and flushes clusters regularly.
type muxer struct {
	w       *mkv.Writer
	cfg     Config
	tracks  []*mkvTrack
	queues  map[*mkvTrack][]mkvFrame
	conf    map[*mkvTrack]*mkv.Track
	seen    map[*mkvTrack]bool // a frame (hence the video config) arrived
	started func()
	begun   time.Time
	origin  time.Time
	lastMs  map[*mkvTrack]int64
	flushed time.Time
	pending int
}

func newMuxer(f mkv.File, cfg Config, tracks []*mkvTrack, started func()) *muxer {
	m := &muxer{w: mkv.NewWriter(f, mkv.Options{App: cfg.App, ClusterDuration: cfg.FlushInterval}), cfg: cfg, tracks: tracks,
		queues: map[*mkvTrack][]mkvFrame{}, conf: map[*mkvTrack]*mkv.Track{}, seen: map[*mkvTrack]bool{},
		started: started, lastMs: map[*mkvTrack]int64{}}
	for _, t := range tracks {
		m.conf[t] = trackConfig(t)
	}
	return m
}

// trackConfig returns the Matroska track of a source, without the parts only media reveals.
func trackConfig(t *mkvTrack) *mkv.Track {
	mt := &mkv.Track{Number: t.number, Type: mkv.TrackVideo}
	switch t.src.Codec {
	case rtpframe.VP8:
		mt.CodecID = mkv.CodecVP8
	case rtpframe.VP9:
		mt.CodecID = mkv.CodecVP9
	case rtpframe.H264:
		mt.CodecID = mkv.CodecH264
	case rtpframe.Opus:
		mt.Type, mt.CodecID, mt.SampleRate, mt.Channels = mkv.TrackAudio, mkv.CodecOpus, 48000, 2
		mt.CodecPrivate = opusHead(2)
		mt.SeekPreRoll = 80 * time.Millisecond // RFC 9559 / Opus-in-Matroska recommendation
	}
	return mt
}

// opusHead is the OpusHead identification header (RFC 7845 §5.1) used as CodecPrivate:
// pre-skip 0 because RTP carries no encoder delay.
func opusHead(channels byte) []byte {
	return []byte{'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, channels, 0, 0, 0x80, 0xBB, 0, 0, 0, 0, 0}
}

// run muxes until stop is closed (then writes what remains and completes the file) or a
// write fails.
func (m *muxer) run(in <-chan mkvFrame, stop <-chan struct{}) error {
	m.begun, m.flushed = time.Now(), time.Now()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case f := <-in:
			m.add(f)
		case <-t.C:
		case <-stop:
			return m.finish(in)
		}
		if err := m.step(time.Now(), false); err != nil {
			return err
		}
	}
}

// finish writes what is queued (the producers have stopped) and closes the writer.
func (m *muxer) finish(in <-chan mkvFrame) error {
	m.drain(in)
	if err := m.step(time.Now(), true); err != nil {
		return err
	}
	if err := m.w.Close(); err != nil {
		return fmt.Errorf("recorder: finalise: %w", err)
	}
	return nil
}

// drain takes every frame already queued in in.
func (m *muxer) drain(in <-chan mkvFrame) {
	for {
		select {
		case f := <-in:
			m.add(f)
		default:
			return
		}
	}
}

func (m *muxer) add(f mkvFrame) {
	if !m.seen[f.track] || f.key {
		m.learn(f)
	}
	m.queues[f.track] = append(m.queues[f.track], f)
	m.pending++
	if m.pending > maxPending { // the header is late: drop the oldest frame
		t, _ := m.oldest(true)
		m.pop(t)
	}
}

// learn takes the codec configuration from a keyframe while the header is not written.
func (m *muxer) learn(f mkvFrame) {
	m.seen[f.track] = true
	if m.w.HeaderWritten() {
		return
	}
	c := m.conf[f.track]
	if f.width > 0 && f.height > 0 {
		c.Width, c.Height = f.width, f.height
	}
	if f.sps != nil && f.pps != nil {
		if cp, err := rtpframe.AVCDecoderConfig(f.sps, f.pps); err == nil {
			c.CodecPrivate = cp
		}
	}
}

// step writes the header when it can, then the frames that are due, and flushes.
func (m *muxer) step(now time.Time, final bool) error {
	if !m.w.HeaderWritten() {
		if !final && !m.headerReady(now) {
			return nil
		}
		if err := m.writeHeader(); err != nil {
			return err
		}
	}
	for {
		f, all := m.oldest(false)
		if f == nil || (!all && !final && now.Sub(m.queues[f][0].at) < holdback) {
			break
		}
		if err := m.write(m.pop(f)); err != nil {
			return err
		}
	}
	if now.Sub(m.flushed) >= m.cfg.FlushInterval {
		m.flushed = now
		if err := m.w.Flush(); err != nil {
			return fmt.Errorf("recorder: flush: %w", err)
		}
	}
	return nil
}

func (m *muxer) headerReady(now time.Time) bool {
	waited := now.Sub(m.begun) >= headerWait
	for _, t := range m.tracks {
		c := m.conf[t]
		switch {
		case c.Type != mkv.TrackVideo:
		case c.CodecID == mkv.CodecH264 && c.CodecPrivate == nil:
			return false
		case !m.seen[t] && !waited:
			return false
		}
	}
	return true
}

func (m *muxer) writeHeader() error {
	tracks := make([]mkv.Track, 0, len(m.tracks))
	for _, t := range m.tracks {
		tracks = append(tracks, *m.conf[t])
	}
	if err := m.w.WriteHeader(tracks); err != nil {
		return fmt.Errorf("recorder: header: %w", err)
	}
	return nil
}

// oldest returns the track whose queued head is earliest, and whether every track has a
// queued frame. With anyTrack, an empty track does not count.
func (m *muxer) oldest(anyTrack bool) (*mkvTrack, bool) {
	var best *mkvTrack
	all := true
	for _, t := range m.tracks {
		q := m.queues[t]
		if len(q) == 0 {
			all = false
			continue
		}
		if best == nil || q[0].at.Before(m.queues[best][0].at) {
			best = t
		}
	}
	return best, all || anyTrack
}

func (m *muxer) pop(t *mkvTrack) mkvFrame {
	f := m.queues[t][0]
	m.queues[t][0] = mkvFrame{}
	m.queues[t] = m.queues[t][1:]
	m.pending--
	return f
}

// write places a frame on the file's timeline: the first written frame is time 0, and a
// track's timestamps never decrease.
func (m *muxer) write(f mkvFrame) error {
	if m.origin.IsZero() {
		m.origin = f.at
	}
	ms := max(f.at.Sub(m.origin).Milliseconds(), m.lastMs[f.track], 0)
	m.lastMs[f.track] = ms
	if err := m.w.WriteFrame(f.track.number, ms, f.key, f.data); err != nil {
		return fmt.Errorf("recorder: write: %w", err)
	}
	if m.started != nil {
		m.started()
		m.started = nil
	}
	return nil
}
