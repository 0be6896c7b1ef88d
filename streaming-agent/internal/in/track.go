package in

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/common/rtpframe"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/rtpx"
)

// maxCache bounds the packets kept since the last keyframe; it stays below the media
// link's queue so a new importer's catch-up burst is not dropped.
const maxCache = 192

// Track is one pulled track: ffmpeg sends its RTP to conn, and every packet goes to the
// media links that exported the track. ffmpeg cannot be asked for a keyframe, so video
// keeps the packets since the last keyframe and replays them to a new importer.
type Track struct {
	info  medialink.TrackInfo
	desc  protocol.RTCTrack
	conn  *net.UDPConn
	isKey func([]byte) bool

	mu        sync.Mutex
	rw        *rtpx.Rewriter
	sinks     map[*medialink.Link]struct{}
	cache     [][]byte
	cacheTS   uint32
	truncated bool // the cache lost packets: replaying it ends in a gap

	received atomic.Int64 // packets in the current ffmpeg run
	done     chan struct{}
}

// newTrack opens the UDP socket ffmpeg will send to.
func newTrack(info medialink.TrackInfo, desc protocol.RTCTrack, ssrc uint32) (*Track, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	step := uint32(960)
	if info.Kind == "video" {
		step = 3000
	}
	t := &Track{info: info, desc: desc, conn: conn, rw: rtpx.NewRewriter(ssrc, step),
		sinks: map[*medialink.Link]struct{}{}, done: make(chan struct{})}
	if info.Kind == "video" {
		t.isKey = rtpframe.KeyframeDetector(info.MimeType)
	}
	return t, nil
}

// ID returns the track id (<streamId>-audio or <streamId>-video).
func (t *Track) ID() string { return t.info.TrackID }

// port is the local UDP port ffmpeg sends to.
func (t *Track) port() int { return t.conn.LocalAddr().(*net.UDPAddr).Port }

// read receives ffmpeg's packets until the socket is closed.
func (t *Track) read() {
	defer close(t.done)
	buf := make([]byte, 2048)
	for {
		n, err := t.conn.Read(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil || n < 12 || isRTCP(buf[:n]) || !rtpx.Valid(buf[:n]) {
			continue
		}
		t.forward(buf[:n])
	}
}

// isRTCP recognises RTCP sharing the port (RFC 5761 §4: packet types 192–223).
func isRTCP(p []byte) bool { return p[1] >= 192 && p[1] <= 223 }

// forward rewrites one packet, caches it when it belongs to the current GOP and sends it
// to every importer.
func (t *Track) forward(p []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rw.Rewrite(p)
	t.received.Add(1)
	if t.isKey != nil {
		t.cachePacket(p)
	}
	for l := range t.sinks {
		l.SendRTP(p)
	}
}

// cachePacket keeps packets from the latest keyframe on. The caller holds t.mu.
func (t *Track) cachePacket(p []byte) {
	ts := rtpx.Timestamp(p)
	switch key := t.isKey(rtpx.Payload(p)); {
	case key && (len(t.cache) == 0 || ts != t.cacheTS):
		t.cache, t.cacheTS, t.truncated = t.cache[:0], ts, false
	case len(t.cache) == 0:
		return // no keyframe since the start
	}
	if len(t.cache) >= maxCache {
		t.truncated = true
		return
	}
	t.cache = append(t.cache, append([]byte(nil), p...))
}

// newEpoch prepares for a restarted ffmpeg: its packets continue the stream after a gap.
func (t *Track) newEpoch() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rw.NewEpoch()
	t.cache, t.truncated = t.cache[:0], false
	t.received.Store(0)
}

// Attach adds an importer's link: it first gets the cached GOP, then live packets.
func (t *Track) Attach(l *medialink.Link) medialink.Export {
	t.mu.Lock()
	for _, p := range t.cache {
		l.SendRTP(p)
	}
	t.sinks[l] = struct{}{}
	t.mu.Unlock()
	return medialink.Export{Info: t.info, Detach: func() { t.detach(l) }}
}

// detach removes an importer's link.
func (t *Track) detach(l *medialink.Link) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.sinks, l)
}

// Sinks returns the number of attached importers.
func (t *Track) Sinks() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sinks)
}

// close ends the track: importers' links are closed and the reader stops.
func (t *Track) close() {
	_ = t.conn.Close()
	<-t.done
	t.mu.Lock()
	sinks := t.sinks
	t.sinks = map[*medialink.Link]struct{}{}
	t.mu.Unlock()
	for l := range sinks {
		l.Close("source closed")
	}
}
