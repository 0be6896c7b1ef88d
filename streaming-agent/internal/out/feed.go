package out

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/conclave-rtc/conclave/common/medialink"
	"github.com/conclave-rtc/conclave/common/protocol"
	"github.com/conclave-rtc/conclave/streaming-agent/internal/rtpx"
)

// keyframeRetry is how often a feed waiting for a keyframe asks for one again.
const keyframeRetry = time.Second

// feed moves one imported track's RTP from its media link to ffmpeg's UDP port. Video is
// held back until a keyframe starts, since ffmpeg can neither copy nor decode from a
// delta frame.
type feed struct {
	kind   string
	source protocol.TrackRef
	link   *medialink.Link
	info   medialink.TrackInfo
	pt     uint8
	isKey  func([]byte) bool

	mu      sync.Mutex
	conn    *net.UDPConn // ffmpeg's RTP port; nil while ffmpeg is down
	gated   bool
	lastReq time.Time
	buf     []byte

	retired   atomic.Bool  // replaced by a source switch: its link's end is expected
	forwarded atomic.Int64 // packets written in the current ffmpeg run
	last      atomic.Int64 // unix nanoseconds of the last packet received from the link
}

// newFeed wraps an imported link.
func newFeed(kind string, src protocol.TrackRef, l *medialink.Link, info medialink.TrackInfo) *feed {
	f := &feed{kind: kind, source: src, link: l, info: info, pt: audioPT, buf: make([]byte, 0, 1500)}
	if kind == "video" {
		f.pt = videoPT
		f.isKey = rtpx.KeyframeDetector(info.MimeType)
	}
	return f
}

// attach points the feed at ffmpeg's port (nil detaches) and, for video, waits for the
// next keyframe, requesting one now.
func (f *feed) attach(conn *net.UDPConn) {
	f.mu.Lock()
	old := f.conn
	f.conn, f.gated = conn, conn != nil && f.isKey != nil
	f.forwarded.Store(0)
	f.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	if conn != nil && f.isKey != nil {
		f.link.RequestKeyframe()
	}
}

// handle is the link's frame handler.
func (f *feed) handle(typ medialink.FrameType, p []byte) {
	if typ != medialink.FrameRTP || !rtpx.Valid(p) {
		return
	}
	f.last.Store(time.Now().UnixNano())
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conn == nil {
		return
	}
	if f.gated {
		if !f.isKey(rtpx.Payload(p)) {
			if time.Since(f.lastReq) >= keyframeRetry {
				f.lastReq = time.Now()
				f.link.RequestKeyframe()
			}
			return
		}
		f.gated = false
	}
	f.buf = append(f.buf[:0], p...)
	rtpx.SetPayloadType(f.buf, f.pt)
	_, err := f.conn.Write(f.buf)
	switch {
	case err == nil:
		f.forwarded.Add(1)
	case errors.Is(err, syscall.ECONNREFUSED) && f.isKey != nil:
		// ffmpeg was not listening yet when an earlier packet arrived (the kernel reports the
		// refusal on the next write): that packet, maybe the keyframe, is lost, so wait for
		// another keyframe, which a source with long keyframe intervals must be asked for.
		f.gated, f.lastReq = true, time.Now()
		f.link.RequestKeyframe()
	}
}

// idle reports whether nothing arrived from the link for d (or ever, since start).
func (f *feed) idle(d time.Duration, since time.Time) bool {
	last := f.last.Load()
	if last == 0 {
		return time.Since(since) >= d
	}
	return time.Since(time.Unix(0, last)) >= d
}
